# peer-add.sh IFACE EXPECTED_DIGEST LEN COUNT — add-node's fast path on an existing node: write the planned
# config and add the newcomer's entry live, as src/plan/peer-add.ts decided. Decides nothing: every value
# comes from the plan.
#   EXPECTED_DIGEST  SHA-256 of the config last applied to this node (state's, PrivateKey as the marker).
#                    The current file, masked by lib.sh's mask_secrets exactly as probe.sh prints it, must
#                    hash to it, the interface must be up and no earlier apply be pending; else nothing is
#                    changed: `refused=REASON`, exit 3 (wgfleet then takes the full path for this node).
#   LEN              bytes of the new config, which follows the COUNT operation lines on stdin.
#   COUNT            operation lines on stdin, each checked whole before anything changes:
#     peer KEY ENDPOINT ALLOWED KEEPALIVE   a new entry (ENDPOINT `-`: none; ALLOWED a comma list; KEEPALIVE
#                                           seconds, 0: none)
#     allowed-ips KEY ALLOWED              an existing entry's AllowedIPs, set to ALLOWED
# The new entry's keepalive is set at once: the newcomer is up before any existing node runs this (wgfleet
# orders it so), so its first keepalive starts the pair's handshake, from this side only; the newcomer
# sends nothing to a node that can dial it and waits (services/first-handshake.ts `joinModeOf`).
# Prints `peer=KEY`, `allowed-ips=KEY`, then `done=yes`. Nothing secret is printed: the
# private key is filled in from the key file by psk_fill (preshared-keys.sh) and read by awk only.
set +xv
set -eu
iface=$1 expected=$2 len=$3 count=$4
[[ $iface =~ ^[A-Za-z0-9_=+.-]{1,15}$ ]] || { echo "error=bad IFACE"; exit 2; }
[[ $expected =~ ^[0-9a-f]{64}$ ]] || { echo "error=bad EXPECTED_DIGEST"; exit 2; }
[[ $len =~ ^[0-9]{1,9}$ && $count =~ ^[0-9]{1,6}$ ]] || { echo "error=bad LEN or COUNT"; exit 2; }
conf=/etc/wireguard/$iface.conf
keyfile=/etc/wireguard/$iface.key
pskdir=/etc/wireguard/$iface.psk
pending=/etc/wireguard/.$iface.pending
fail() { echo "error=$1"; exit "${2:-30}"; }
refuse() { echo "refused=$1"; exit 3; }

key_re='^[A-Za-z0-9+/]{43}=$'
ips_re='^[0-9A-Fa-f.:/]+(,[0-9A-Fa-f.:/]+)*$'
endpoint_re='^([0-9.]+|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):[0-9]{1,5}$'
settings=() added=() grown=()
for ((i = 0; i < count; i++)); do
  IFS=' ' read -r op key a b c extra || fail "the operations arrived incomplete: nothing changed" 2
  [[ $key =~ $key_re ]] && [ -z "${extra:-}" ] || fail "bad operation line" 2
  case $op in
    peer)
      [[ ($a == - || $a =~ $endpoint_re) && $b =~ $ips_re && $c =~ ^[0-9]{1,5}$ ]] || fail "bad peer line" 2
      settings+=(peer "$key")
      [ "$a" = - ] || settings+=(endpoint "$a")
      settings+=(allowed-ips "$b")
      [ "$c" = 0 ] || settings+=(persistent-keepalive "$c")
      added+=("$key") ;;
    allowed-ips)
      [[ $a =~ $ips_re && -z ${b:-} ]] || fail "bad allowed-ips line" 2
      settings+=(peer "$key" allowed-ips "$a")
      grown+=("$key") ;;
    *) fail "bad operation line" 2 ;;
  esac
done

# Nothing changes unless this node is exactly as wgfleet left it.
wg show "$iface" public-key >/dev/null 2>&1 || refuse down
[ ! -e "$pending" ] || refuse pending
[ -f "$conf" ] && [ -s "$keyfile" ] || refuse digest
has sha256sum || refuse digest
digest=
read -r digest _ < <(mask_secrets "$keyfile" <"$conf" | sha256sum)
[ "$digest" = "$expected" ] || refuse digest

# Once started, finish (a closed channel must not stop it between the file and the interface): nothing is
# printed before the end but an error. Cheap on purpose (this is add-node's one exec on
# every existing node, so each program it starts costs a hundred of them): fixed file names in
# /etc/wireguard (root's, 0700) instead of a temporary folder; the config read, checked (LEN bytes, the
# marker, one private key marker) and filled by one awk (psk_fill with LEN); no routes, since plan/peer-add
# takes this path only when the kernel's prefix route of the interface address covers every route added.
# umask 077 makes the file 0600, owned by root, who runs this.
trap '' HUP PIPE
umask 077
new=/etc/wireguard/.$iface.peer-add.conf
cleanup=yes
trap '[ -z "$cleanup" ] || rm -f "$new"' EXIT
fill_rc=0
psk_fill "$keyfile" "$pskdir" "$len" >"$new" || fill_rc=$?
case $fill_rc in
  0) ;;
  5) fail "the config arrived incomplete: nothing changed" ;;
  6) fail "rendered config lacks the wgfleet marker (not sent whole?)" ;;
  7) fail "rendered config must hold exactly one private key marker" ;;
  *) fail "could not fill in the private key" ;;
esac
sync "$new" 2>/dev/null || true
# Until the interface has the new entries, the pending marker says so: a run cut off here is finished by
# the next one (the probe reports the marker; the interface is restarted from the file).
: >"$pending" || fail "cannot write $pending"
mv -f "$new" "$conf" || { rm -f "$pending"; fail "could not move the new config into place: the old one is unchanged"; }
if [ ${#settings[@]} -gt 0 ]; then wg set "$iface" "${settings[@]}" || fail "wg set $iface failed"; fi
cleanup=
rm -f "$pending"
for key in ${added[@]+"${added[@]}"}; do echo "peer=$key"; done
for key in ${grown[@]+"${grown[@]}"}; do echo "allowed-ips=$key"; done
echo "done=yes"
