# doctor.sh IFACE PORT COUNT BUDGET — one read-only look at everything `wgfleet doctor` judges. Changes nothing.
#   IFACE   the WireGuard interface (wg0)
#   PORT    the node's planned ListenPort (only reported back; the judging is done by wgfleet)
#   COUNT   how many ping targets follow on stdin, one per line, then a line `end` (on stdin, not the
#           command line: a node of 1,000 peers has 2,000 of them). A TARGET is `u:HOST` (a peer's endpoint
#           host, pinged over the underlay) or `o:ADDR` (a peer's overlay address, pinged through the
#           tunnel). Only the node's own planned peers are passed: pings go nowhere else, each with -c 1
#           -W 1, at most two per target, at most 16 targets at a time.
#   BUDGET  seconds into the script after which no ping starts (the rest are counted as
#           `ping_unprobed=N`): a node of 1,000 peers finishes well within wgfleet's step timeout.
# Prints `key=value` lines and a few blocks (`--- NAME` … `--- end NAME`), then `end=ok` (so a cut-off
# output is recognised).
# Never prints a secret: the dump goes through lib.sh's peer_lines (the interface line, which holds the
# private key, dropped; preshared keys hidden) and the config file through mask_secrets — on the host.
#
# Path MTU arithmetic (IPv4 underlay): WireGuard wraps an inner packet of the interface MTU in
# 20 (IPv4) + 8 (UDP) + 16 (WireGuard data header) + 16 (Poly1305 tag) = 60 bytes, so a full-size
# inner packet leaves the host as an outer packet of MTU + 60 bytes. A don't-fragment ping of that size
# carries 20 (IPv4) + 8 (ICMP) = 28 bytes of headers, so its payload is MTU + 60 - 28 = MTU + 32.
# (IPv6 underlay: 40 + 8 + 32 = 80 bytes of overhead and 40 + 8 = 48 bytes of ping headers: MTU + 32 too.)
# Over the overlay, a full-size inner ping is MTU - 28 bytes of payload.
set +xv
set -u
iface=$1
port=$2
count=$3
budget=$4

case $iface in '' | -* | *[!a-zA-Z0-9_=+.-]*) echo "doctor.sh: bad interface name" >&2; exit 2 ;; esac
case $port in '' | *[!0-9]*) echo "doctor.sh: bad port" >&2; exit 2 ;; esac
case $count in '' | *[!0-9]*) echo "doctor.sh: bad target count" >&2; exit 2 ;; esac
case $budget in '' | *[!0-9]*) echo "doctor.sh: bad ping budget" >&2; exit 2 ;; esac
targets=()
ended=no
while IFS= read -r line; do
  if [ "$line" = end ]; then ended=yes; break; fi
  targets+=("$line")
done
if [ $ended != yes ] || [ ${#targets[@]} -ne "$count" ]; then
  echo "doctor.sh: the target list was cut short (${#targets[@]} of $count)" >&2
  exit 2
fi
exec </dev/null
conf=/etc/wireguard/$iface.conf
keyfile=/etc/wireguard/$iface.key

say doctor 1
say port "$port"

# Every program started costs the host about a millisecond, and doctor runs on every node: what bash can
# do itself (tests on text, files under /proc) it does, and each tool runs once.
# --- interface: absent, or present and administratively up or down; its MTU and IPv4 addresses.
link=absent
mtu=
up_flag='[<,]UP[,>]' mtu_field=' mtu ([0-9]+)' inet_field=' inet ([0-9./]*)'
if has ip; then
  if flags=$(ip -o link show dev "$iface" 2>/dev/null); then
    if [[ $flags =~ $up_flag ]]; then link=up; else link=down; fi
    [[ $flags =~ $mtu_field ]] && mtu=${BASH_REMATCH[1]}
    while IFS= read -r line; do
      [[ $line =~ $inet_field ]] && say address "${BASH_REMATCH[1]}"
    done < <(ip -o -4 addr show dev "$iface" 2>/dev/null)
  fi
elif [ -r "/sys/class/net/$iface/flags" ]; then
  # IFF_UP is bit 0 of the flags word.
  if [ $(( $(cat "/sys/class/net/$iface/flags") & 1 )) -eq 1 ]; then link=up; else link=down; fi
  mtu=$(cat "/sys/class/net/$iface/mtu" 2>/dev/null)
fi
say interface "$link"
say mtu "$mtu"

# --- wg: the peer lines of the dump (interface line dropped), listen port, public keys.
if has wg; then say wg yes; else say wg no; fi
peers=
wg_ok=no
if has wg && [ "$link" != absent ]; then
  if peers=$(peer_lines "$iface" own); then wg_ok=yes; fi
fi
# The node's clock, right after the dump: handshake ages are computed against it.
say now "$(date +%s)"
if [ "$wg_ok" = yes ]; then
  own=${peers%%$'\n'*} own=${own#own=}
  if [ "$peers" = "${peers#*$'\n'}" ]; then peers=; else peers=${peers#*$'\n'}; fi
  say listen_port "${own#* }"
  say pubkey "${own%% *}"
  echo '--- peers'
  [ -n "$peers" ] && printf '%s\n' "$peers"
  echo '--- end peers'
elif has wg && [ "$link" != absent ]; then
  say wg_error "wg show $iface failed (not a WireGuard interface, or no permission)"
fi
if [ -r "$keyfile" ] && has wg; then
  say keyfile_pubkey "$(wg pubkey <"$keyfile" 2>/dev/null)"
fi

# --- the config file, secrets masked on the host.
if [ -f "$conf" ]; then
  say config yes
  echo '--- config'
  mask_secrets "$keyfile" <"$conf"
  echo '--- end config'
else
  say config no
fi

# --- wgfleet's block in /etc/hosts (hosts_file = true), as a digest.
say hosts_block "$(hosts_block_digest "$iface")"

# --- the peers' preshared keys (preshared_keys = true): names and digests, never a value.
psk_report "$iface"

# --- systemd unit.
if [ -d /run/systemd/system ] && has systemctl; then
  say systemd yes
  unit_states "wg-quick@$iface"
  say unit_enabled "$unit_enabled"
  say unit_active "$unit_active"
else
  say systemd no
fi

# --- forwarding: the running value, and the sysctl files that set it persistently.
value=
read -r value </proc/sys/net/ipv4/ip_forward 2>/dev/null
say ip_forward "$value"
value=
read -r value </proc/sys/net/ipv6/conf/all/forwarding 2>/dev/null
say ip6_forward "$value"
# One grep over every file (-l lists the matching ones, in this order).
sysctl_files=()
for f in /etc/sysctl.conf /etc/sysctl.d/*.conf /usr/lib/sysctl.d/*.conf /run/sysctl.d/*.conf; do
  [ -f "$f" ] && sysctl_files+=("$f")
done
if [ ${#sysctl_files[@]} -gt 0 ]; then
  while IFS= read -r f; do say forward_file "$f"; done < <(grep -El '^[[:space:]]*net[./]ipv4[./]ip_forward[[:space:]]*=[[:space:]]*1[[:space:]]*$' -- "${sysctl_files[@]}" 2>/dev/null)
fi

# --- firewalls: the raw listings (firewall-listings.sh, as probe prints them), and the uplink (the
# default route's interface: where peers' packets arrive).
firewall_listings
if has ip; then
  # The main table, read once (route_listing): the uplink is the first IPv4 default route's interface.
  routes=$(route_listing)
  uplink=
  while IFS=' ' read -r family dest dev; do
    [ "$dest" = default ] && [ "$family" = route=4 ] && { uplink=$dev; break; }
  done <<<"$routes"
  say uplink "$uplink"
  [ -n "$routes" ] && printf '%s\n' "$routes"
fi

# --- path MTU: don't-fragment pings toward the node's own peers (interface up only).
probe() {
  local kind=${1%%:*} host=${1#*:} size big small out pmtu
  case $kind in u) size=$((mtu + 32)) ;; o) size=$((mtu - 28)) ;; *) return ;; esac
  case $host in '' | -* | *[!a-zA-Z0-9.:-]*) return ;; esac
  out=$(LC_ALL=C ping -n -M 'do' -s "$size" -c 1 -W 1 "$host" 2>&1)
  case $? in
    0) big=ok ;;
    1) big=fail ;;
    # Exit 2 is "another error": a local "message too long" is still a too-big answer; anything else
    # (no such option, a name that does not resolve) says nothing about the path.
    *) case $out in *'message too long'* | *[Ff]'rag needed'* | *'mtu='* | *'mtu = '*) big=fail ;; *) big=error ;; esac ;;
  esac
  small=-
  if [ "$big" = fail ]; then
    if LC_ALL=C ping -n -c 1 -W 1 "$host" >/dev/null 2>&1; then small=ok; else small=fail; fi
  fi
  # bash's own regex, not a sed pipeline: at 100 peers a node probes 200 targets, and three forks each
  # made the doctor cost the lab's hosts 175 CPU-seconds.
  pmtu=
  [[ $out =~ mtu\ *=\ *([0-9]+) ]] && pmtu=${BASH_REMATCH[1]}
  # One printf per result: lines of parallel probes do not interleave.
  printf 'ping=%s %s %s %s %s %s\n' "$kind" "$host" "$size" "$big" "$small" "${pmtu:--}"
}
if [ ${#targets[@]} -gt 0 ]; then
  if ! has ping; then
    say ping_tool no
  elif [ "$link" != up ] || [ -z "$mtu" ]; then
    say ping_tool skipped
  else
    say ping_tool yes
    # A rolling window of 16 (`wait -n`: bash 4.3+, every supported release has it), and a time budget
    # ($SECONDS: bash's own clock, no fork) after which no probe starts.
    running=0 started=0
    for target in "${targets[@]}"; do
      [ $SECONDS -ge "$budget" ] && break
      if [ $running -ge 16 ]; then wait -n; running=$((running - 1)); fi
      probe "$target" &
      running=$((running + 1)) started=$((started + 1))
    done
    wait
    say ping_unprobed $((${#targets[@]} - started))
  fi
fi

say end ok
exit 0
