# verify.sh IFACE TIMEOUT FINISH COUNT — runs after every node has applied (a barrier:
# every interface is up and every firewall open). Waits, at most TIMEOUT seconds, until each listed peer is
# verified as its MODE says. wgfleet decides for each pair which one side starts its handshake
# (services/first-handshake.ts); the other side sends nothing until it has one:
#   any       nothing changed around this pair: a handshake at any time counts (wgfleet judges its age);
#             a missing one is provoked with a ping.
#   initiate  the entry is fresh (apply brought it up without keepalive, so it has sent nothing) and this
#             side starts: a ping over the tunnel is the trigger (WireGuard queues it and initiates at once).
#             Verified when the ping is answered: that proves the peer took our data on the new session —
#             which is what makes the peer record the handshake — so both sides count the same session.
#   await     the entry is fresh (or old without a live session) and the peer starts: verified by a
#             handshake newer than SINCE (a responder records one when the starter's first data arrives on
#             the session). Sends nothing: a ping here would start a second handshake that crosses the
#             peer's, and WireGuard then drops both until its 5 s retry.
#   reset     this side must start (the peer cannot dial it), but its entry is older than the peer's: the
#             session it holds died with the peer's restart, and WireGuard would keep using it for ~2 min.
#             The entry is removed and re-added from the config file (the peer holds no session with us
#             to lose), which initiates at once; then as initiate.
#   live      the entry is older than the peer's and the peer starts: a handshake after this check began,
#             or an answered ping over the session we have (never a first ping: that would initiate).
#   FINISH    yes: apply held keepalives back; at the end (whatever the outcome) they are set from the
#             config file — the interface is then what the file says — and apply's pending marker is
#             cleared. Done before anything is printed, and a hang-up only ends the waiting, so it happens
#             even if wgfleet is gone.
# The COUNT peers arrive on stdin, one `PUBKEY ADDRESS MODE SINCE` line each, then a line `end` (SINCE:
# the handshake time an `await` must pass — 0 for a fresh entry, the dead session's for an old one): on the command
# line, a fleet of ~2,000 would pass Linux's 128 KiB limit for one argument (ssh sends the command as one).
# A list cut short or malformed is refused (exit 2) before anything is done.
# Cost per round: one `wg show latest-handshakes` parsed once, then a pass over the peers in bash (no fork
# per peer); at most MAX_PINGS pings in flight (a node of 1,000 peers must not fork 1,000 pings at once);
# the deadline is checked inside a pass too, so a long pass cannot overrun it. Rounds are 0.2 s apart for
# the first 2 s, 0.5 s until 10 s, then 1 s (see the sleep at the end of a round).
# `wg show latest-handshakes` prints public keys and times only: nothing secret leaves the host. The
# stripped config (with the private key) goes straight from wg-quick to wg, never to stdout.
set +xv
set -u
iface=$1 timeout=$2 finish=$3 count=$4
case $count in '' | *[!0-9]*) echo "verify.sh: bad peer count" >&2; exit 2 ;; esac
MAX_PINGS=32
conf=/etc/wireguard/$iface.conf
pending=/etc/wireguard/.$iface.pending
start=$(date +%s)
deadline=$((start + timeout))
trap 'deadline=0' HUP TERM
trap '' PIPE
keys=() addrs=() modes=() sinces=()
ended=no
while IFS=' ' read -r key addr mode since extra; do
  if [ "$key" = end ] && [ -z "$addr" ]; then ended=yes; break; fi
  case $key in *[!A-Za-z0-9+/=]* | '') echo "verify.sh: bad peer line" >&2; exit 2 ;; esac
  case $addr in *[!0-9.]* | '') echo "verify.sh: bad peer line" >&2; exit 2 ;; esac
  case $mode in any | live | initiate | await | reset) ;; *) echo "verify.sh: bad peer line" >&2; exit 2 ;; esac
  case $since in *[!0-9]* | '') echo "verify.sh: bad peer line" >&2; exit 2 ;; esac
  [ -z "$extra" ] || { echo "verify.sh: bad peer line" >&2; exit 2; }
  keys+=("$key") addrs+=("$addr") modes+=("$mode") sinces+=("$since")
done
if [ $ended != yes ] || [ ${#keys[@]} -ne "$count" ]; then
  echo "verify.sh: the peer list was cut short (${#keys[@]} of $count)" >&2
  exit 2
fi
exec </dev/null
declare -A verified=() pinger=() answer=() was_reset=() hs=()
cursor=0
warnings=()

# The peer's own section of the config file, re-added alone (the others keep what they hold now).
readd_peer() {
  section=$(wg-quick strip "$iface" | awk -v key="$1" '
    function flush(   i) { if (mine) for (i = 1; i <= n; i++) print block[i]; n = 0; mine = 0 }
    /^[ \t]*\[/ { flush(); inpeer = tolower($0) ~ /^[ \t]*\[peer\][ \t]*$/ }
    inpeer { block[++n] = $0 }
    inpeer && tolower($0) ~ /^[ \t]*publickey[ \t]*=/ { v = $0; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t\r]*$/, "", v); if (v == key) mine = 1 }
    END { flush() }') || return 1
  [ -n "$section" ] || return 1
  wg set "$iface" peer "$1" remove || return 1
  printf '%s\n' "$section" | wg addconf "$iface" /dev/stdin
}

while :; do
  hs=()
  while read -r k t; do [ -n "$k" ] && hs[$k]=$t; done < <(wg show "$iface" latest-handshakes 2>/dev/null)
  # Reap the pings that ended (at most MAX_PINGS are out); an answer waits in `answer` for its peer's turn.
  for k in "${!pinger[@]}"; do
    if ! kill -0 "${pinger[$k]}" 2>/dev/null; then
      wait "${pinger[$k]}" && answer[$k]=yes
      unset "pinger[$k]"
    fi
  done
  inflight=${#pinger[@]}
  missing=0 want=()
  for i in "${!keys[@]}"; do
    # The deadline inside the pass as well, every 64 peers ($SECONDS: bash's own counter, no fork).
    if [ $((i % 64)) -eq 63 ] && { [ $SECONDS -ge "$timeout" ] || [ $deadline -eq 0 ]; }; then missing=$((missing + 1)); break; fi
    key=${keys[$i]} addr=${addrs[$i]} mode=${modes[$i]} since=${sinces[$i]}
    [ -n "${verified[$key]:-}" ] && continue
    ts=${hs[$key]:-0}
    answered=${answer[$key]:-no}
    unset "answer[$key]"
    case $mode in
      any) [ "$ts" -gt 0 ] && verified[$key]=handshake ;;
      await) [ "$ts" -gt "$since" ] && verified[$key]=handshake ;;
      initiate | reset) [ $answered = yes ] && verified[$key]=ping ;;
      # Strictly after: handshake times have one-second resolution, and one in the very second the check
      # began may predate the peer's restart.
      live)
        if [ "$ts" -gt "$start" ]; then verified[$key]=handshake
        elif [ $answered = yes ]; then verified[$key]=ping; fi ;;
    esac
    [ -n "${verified[$key]:-}" ] && continue
    missing=$((missing + 1))
    case $mode in
      await) continue ;;
      live) [ "$ts" -gt 0 ] || continue ;;
      reset)
        if [ -z "${was_reset[$key]:-}" ]; then
          was_reset[$key]=1
          readd_peer "$key" 2>/dev/null || warnings+=("could not re-add a peer to $iface to restart its handshake: run wgfleet init again")
        fi ;;
    esac
    [ -n "${pinger[$key]:-}" ] || want+=("$i")
  done
  # Pings for the free slots, taken in turn from where the last round stopped: with more peers waiting
  # than slots, every one gets its ping, not only the first MAX_PINGS of the list.
  n=${#want[@]} j=0
  while [ $j -lt "$n" ] && [ $inflight -lt $MAX_PINGS ]; do
    i=${want[$(((cursor + j) % n))]}
    ping -c 1 -W 1 "${addrs[$i]}" >/dev/null 2>&1 &
    pinger[${keys[$i]}]=$!
    inflight=$((inflight + 1)) j=$((j + 1))
  done
  cursor=$((cursor + j))
  [ $missing -eq 0 ] && break
  [ "$(date +%s)" -ge $deadline ] && break
  # Bounded in count too (at most 5 rounds a second): a clock that does not move must not keep this running.
  rounds=$((${rounds:-0} + 1))
  [ "$rounds" -ge $((timeout * 5 + 5)) ] && break
  # Fast while handshakes come (the first seconds), slower after: a lost initiation is retried by WireGuard
  # only every 5 s, and a round costs ~4 ms of CPU (wg show, the pass) — a hundred hosts polling 5 times a
  # second on shared cores (the lab) starve the very handshakes they wait for.
  if [ $SECONDS -lt 2 ]; then sleep 0.2; elif [ $SECONDS -lt 10 ]; then sleep 0.5; else sleep 1; fi
done
for pid in "${pinger[@]}"; do kill "$pid" 2>/dev/null; done
wait 2>/dev/null

if [ "$finish" = yes ]; then
  # apply held back only the keepalives of the fresh entries: set every peer's keepalive from the file
  # (unchanged ones are no-ops). Not a whole syncconf: that re-applies ListenPort, and wireguard-go then
  # rebinds its socket, dropping whatever a peer sends at that moment.
  if stripped=$(wg-quick strip "$iface" 2>/dev/null) && [ -n "$stripped" ]; then
    settings=()
    while read -r key every; do settings+=(peer "$key" persistent-keepalive "$every"); done < <(printf '%s\n' "$stripped" | awk '
      /^[ \t]*\[/ { if (key != "" && every != "") print key, every; key = ""; every = ""; inpeer = tolower($0) ~ /^[ \t]*\[peer\][ \t]*$/ }
      inpeer && tolower($0) ~ /^[ \t]*publickey[ \t]*=/ { key = $0; sub(/^[^=]*=[ \t]*/, "", key); sub(/[ \t\r]*$/, "", key) }
      inpeer && tolower($0) ~ /^[ \t]*persistentkeepalive[ \t]*=/ { every = $0; sub(/^[^=]*=[ \t]*/, "", every); sub(/[ \t\r]*$/, "", every) }
      END { if (key != "" && every != "") print key, every }')
    if [ ${#settings[@]} -eq 0 ] || wg set "$iface" "${settings[@]}"; then
      rm -f "$pending"
    else
      warnings+=("could not turn the keepalives of $iface on (they stay off until the next run): run wgfleet init again")
    fi
  else
    warnings+=("could not read $conf to turn the keepalives of $iface on (they stay off until the next run): run wgfleet init again")
  fi
  unset stripped
fi

echo "start=$start"
echo "now=$(date +%s)"
wg show "$iface" latest-handshakes 2>/dev/null | sed 's/^/hs=/'
for key in "${!verified[@]}"; do echo "verified=$key ${verified[$key]}"; done
for w in "${warnings[@]}"; do echo "warning=$w"; done
exit 0
