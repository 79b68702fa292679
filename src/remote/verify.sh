# verify.sh IFACE TIMEOUT [PUBKEY ADDRESS MODE]... — wait (at most TIMEOUT seconds) until every listed
# peer is verified:
#   MODE any   a handshake has happened (its age is judged by wgfleet)
#   MODE live  this node or the peer was (re)started in this run, so an old session may be dead on the
#              other side: a handshake after the second this check began, or an answered ping over the
#              tunnel.
# Pings are also what makes a NAT-ed node notice that a restarted peer forgot its session: data without an
# answer makes WireGuard start a new handshake after ~15 s (a keepalive alone never does).
# `wg show latest-handshakes` prints public keys and times only: nothing secret leaves the host.
set +xv
set -u
iface=$1 timeout=$2
shift 2
peers=("$@")
start=$(date +%s)
deadline=$((start + timeout))
declare -A verified=() kicked=()
round=0
while :; do
  round=$((round + 1))
  kick=0
  hs=$(wg show "$iface" latest-handshakes 2>/dev/null || true)
  missing=0
  i=0
  while [ $i -lt ${#peers[@]} ]; do
    key=${peers[$i]} addr=${peers[$((i + 1))]} mode=${peers[$((i + 2))]}
    i=$((i + 3))
    [ -n "${verified[$key]:-}" ] && continue
    ts=$(printf '%s\n' "$hs" | awk -v k="$key" '$1 == k { print $2 }')
    ts=${ts:-0}
    if [ "$mode" = any ] && [ "$ts" -gt 0 ]; then verified[$key]=handshake; continue; fi
    # Strictly after: handshake times have one-second resolution, and a handshake in the very second the
    # check began may predate a peer's restart in that second.
    if [ "$mode" = live ] && [ "$ts" -gt "$start" ]; then verified[$key]=handshake; continue; fi
    if [ "$mode" = live ] && [ "$ts" -gt 0 ] && ping -c 1 -W 1 "$addr" >/dev/null 2>&1; then verified[$key]=ping; continue; fi
    missing=$((missing + 1))
    # Never a handshake after two rounds: its first initiation was most likely lost while the peer was
    # still starting, and WireGuard waits 5 s before trying again. Re-adding the peer (it has no session
    # to lose) makes it initiate at once.
    if [ "$ts" = 0 ] && [ $round -ge 2 ] && [ -z "${kicked[$key]:-}" ]; then
      wg set "$iface" peer "$key" remove 2>/dev/null && kicked[$key]=1 && kick=1
    fi
    ping -c 1 -W 1 "$addr" >/dev/null 2>&1 &
  done
  # The stripped config (with the private key) goes straight from wg-quick to wg, never to stdout.
  if [ $kick = 1 ] && ! { wg-quick strip "$iface" | wg syncconf "$iface" /dev/stdin; } 2>/dev/null; then
    echo "warning=could not re-add peers to $iface after re-initiating handshakes: run wgfleet init again"
  fi
  wait
  [ $missing -eq 0 ] && break
  [ "$(date +%s)" -ge $deadline ] && break
  sleep 1
done
echo "start=$start"
echo "now=$(date +%s)"
wg show "$iface" latest-handshakes 2>/dev/null | sed 's/^/hs=/'
for key in "${!verified[@]}"; do echo "verified=$key ${verified[$key]}"; done
