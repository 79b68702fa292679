# verify.sh IFACE TIMEOUT [PUBKEY ADDRESS]... — wait (at most TIMEOUT seconds) for a handshake with each
# listed peer. A ping to a peer's overlay address nudges a handshake along. `wg show latest-handshakes`
# prints public keys and times only: nothing secret leaves the host.
set -u
iface=$1 timeout=$2
shift 2
deadline=$(( $(date +%s) + timeout ))
while :; do
  missing=0
  hs=$(wg show "$iface" latest-handshakes 2>/dev/null || true)
  i=0
  args=("$@")
  while [ $i -lt ${#args[@]} ]; do
    key=${args[$i]} addr=${args[$((i + 1))]}
    ts=$(printf '%s\n' "$hs" | awk -v k="$key" '$1 == k { print $2 }')
    if [ -z "$ts" ] || [ "$ts" = 0 ]; then
      missing=$((missing + 1))
      ping -c 1 -W 1 "$addr" >/dev/null 2>&1 &
    fi
    i=$((i + 2))
  done
  wait
  [ $missing -eq 0 ] && break
  [ "$(date +%s)" -ge $deadline ] && break
  sleep 1
done
echo "now=$(date +%s)"
wg show "$iface" latest-handshakes 2>/dev/null | sed 's/^/hs=/'
