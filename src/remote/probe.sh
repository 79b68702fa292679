# probe.sh IFACE — read-only look at a host; leaves nothing behind.
# Prints `key=value` lines (values on one line), then the masked current config between markers.
# Never prints a secret: the config goes through lib.sh's mask_secrets, and the dump through peer_lines
# (the interface line, which holds the private key, dropped; preshared keys hidden) — here, on the host.
# Cheap on purpose: a no-op `init` is this one exec per node, so what bash can read itself (files under
# /proc, the uid, a glob) it does, and each tool runs once (about 15 programs in all;
# every program started costs the host about a millisecond, the probe once started 47).
set +xv
set -u
iface=$1
conf=/etc/wireguard/$iface.conf
keyfile=/etc/wireguard/$iface.key

if [ -r /etc/os-release ]; then
  while IFS= read -r line; do
    case $line in [A-Z]*=*) printf 'os.%s\n' "$line" ;; esac
  done </etc/os-release
fi
kernel=
read -r kernel </proc/sys/kernel/osrelease 2>/dev/null || kernel=$(uname -r)
say kernel "$kernel"
say now "$(date +%s)"

if has apt-get; then say pkg apt
elif has dnf; then say pkg dnf
elif has yum; then say pkg yum
else say pkg none; fi

has wg && say wg yes || say wg no
has wg-quick && say wg_quick yes || say wg_quick no
has wireguard-go && say wireguard_go yes || say wireguard_go no
has resolvconf && say resolvconf yes || say resolvconf no
has iptables && say iptables yes || say iptables no
has nft && say nft yes || say nft no

# Kernel WireGuard: loaded or built in, or loadable as a module. (No throw-away link: modinfo suffices.)
if [ -d /sys/module/wireguard ] || modinfo wireguard >/dev/null 2>&1; then say kernel_wireguard yes
else say kernel_wireguard no; fi

if [ -d /run/systemd/system ]; then say init systemd; else say init other; fi
# EL8 takes wireguard-tools from EPEL.
if compgen -G '/etc/yum.repos.d/epel*.repo' >/dev/null; then say epel yes; else say epel no; fi
if [ "$EUID" = 0 ]; then say root yes; else say root no; fi

# Firewalls: the raw listings (firewall-listings.sh, as doctor prints them); wgfleet judges them and never
# enables an inactive firewall.
firewall_listings

value=
read -r value </proc/sys/net/ipv4/ip_forward 2>/dev/null
say ip_forward "$value"
[ -f /etc/sysctl.d/99-wgfleet.conf ] && say forward_file yes || say forward_file no
# Dual stack: IPv6 on at all (a new interface takes `default`'s disable_ipv6), IPv6 forwarding, and
# whether wgfleet's sysctl file turns it on.
value=
read -r value </proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null
if [ "$value" = 0 ]; then say ipv6 yes; else say ipv6 no; fi
value=
read -r value </proc/sys/net/ipv6/conf/all/forwarding 2>/dev/null
say ip6_forward "$value"
[ -f /etc/sysctl.d/99-wgfleet.conf ] && grep -qx 'net.ipv6.conf.all.forwarding = 1' /etc/sysctl.d/99-wgfleet.conf 2>/dev/null && say forward6_file yes || say forward6_file no
# The main table, read once (route_listing): where each site-to-site subnet is routed (the verdict judges
# forwarding out of that interface), the uplink (the first IPv4 default route's interface) and whether a
# default route uses a link named like the interface.
routes=$(route_listing)
uplink=
iface_default=no
while IFS=' ' read -r family dest dev; do
  [ "$dest" = default ] || continue
  family=${family#route=}
  [ "$family" = 4 ] && [ -z "$uplink" ] && uplink=$dev
  [ "$dev" = "$iface" ] && iface_default=yes
done <<<"$routes"
say uplink "$uplink"
[ -n "$routes" ] && printf '%s\n' "$routes"
# The uplink's own IPv4 addresses: under exit_via, replies from them stay on the main table (SSH from anywhere).
if [ -n "$uplink" ]; then
  addresses= n=0
  while read -r _ _ family address _; do
    [ "$family" = inet ] && [ $n -lt 16 ] || continue
    addresses="$addresses${address%%/*} " n=$((n + 1))
  done < <(ip -4 -o addr show dev "$uplink" scope global 2>/dev/null)
  say uplink_addresses "$addresses"
fi
conn=${WGFLEET_SSH_CONNECTION:-${SSH_CONNECTION:-}}
say ssh_client "${conn%% *}"
# A link already named like the interface: its kind (`ip -d`: wireguard, tun, bridge, vlan, bond, veth...;
# none for a NIC), whether it is WireGuard (kernel, or a wireguard-go tun that `wg show` answers for) and
# whether the main table's default route uses it. wgfleet never takes over a link that is not its own.
# The running interface, read once: `wg show IFACE dump` through peer_lines (which drops the interface's
# line, the private key's, printing only its public key as `pubkey=`; here, on the host).
link=no
link_json=$(ip -j -d link show dev "$iface" 2>/dev/null) && link=yes
[ $link = yes ] || { ip link show dev "$iface" >/dev/null 2>&1 && link=yes; }
wg_lines= wg_ok=no
if [ $link = yes ]; then
  # The greedy `.*` keeps the last match, as the sed this replaced did.
  kind=
  case $link_json in
    '['*) [[ $link_json =~ .*\"info_kind\":\"([^\"]*)\" ]] && kind=${BASH_REMATCH[1]}; say iface_kind "${kind:-device}" ;;
    *) say iface_kind unknown ;;
  esac
  if has wg && wg_lines=$(peer_lines "$iface" own); then wg_ok=yes; fi
  if [ "$kind" = wireguard ] || [ $wg_ok = yes ]; then say iface_wireguard yes; else say iface_wireguard no; fi
  say iface_default_route "$iface_default"
fi

# Modes of the folder, the key file and the config, in one stat (a missing file prints nothing).
dir_mode=none key_mode= config_mode=
while read -r mode path; do
  case $path in
    /etc/wireguard) dir_mode=$mode ;;
    "$keyfile") key_mode=$mode ;;
    "$conf") config_mode=$mode ;;
  esac
done < <(stat -c '%a %n' /etc/wireguard "$keyfile" "$conf" 2>/dev/null)
say dir_mode "$dir_mode"
pubkey=
if [ -f "$keyfile" ]; then
  say key yes
  say key_mode "$key_mode"
  if has wg; then
    pubkey=$(wg pubkey <"$keyfile" 2>/dev/null)
    say pubkey "$pubkey"
  fi
else
  say key no
fi

if [ $link = yes ]; then say iface_up yes; else say iface_up no; fi
# The running interface's own key: it must agree with the key file's (wgfleet never picks one of two).
if has wg && [ $link = yes ]; then
  own=
  [ $wg_ok = yes ] && [[ $wg_lines =~ ^own=([^$'\n' ]*) ]] && own=${BASH_REMATCH[1]}
  say iface_pubkey "$own"
fi
if [ -d /run/systemd/system ]; then
  unit_states "wg-quick@$iface"
  say service_enabled "$unit_enabled"
  say service_active "$unit_active"
fi

[ -e "/etc/wireguard/.$iface.pending" ] && say pending yes || say pending no
if [ -f "$conf" ]; then
  say config yes
  say config_mode "$config_mode"
  # The public key of the config's own PrivateKey (wg-quick starts the interface from it), computed here;
  # the private key only passes through pipes. When it is the key file's key (awk compares the two and
  # prints only the verdict), that is the key file's public key, computed above.
  if has wg; then
    same=$(awk -v keyfile="$keyfile" 'BEGIN { if ((getline k < keyfile) <= 0) k = "" } /^PrivateKey = / { r = "other"; if (k != "" && substr($0, 14) == k) r = "same"; print r; exit }' "$conf" 2>/dev/null)
    if [ "$same" = same ] && [ -n "$pubkey" ]; then say config_pubkey "$pubkey"
    else say config_pubkey "$(sed -n 's/^PrivateKey = //p' "$conf" | head -n1 | wg pubkey 2>/dev/null)"; fi
  fi
  first=
  IFS= read -r first <"$conf"
  set_marker
  if [ "$first" = "$marker" ]; then say managed yes; else say managed no; fi
  echo '--- config'
  mask_secrets "$keyfile" <"$conf"
  echo '--- end config'
else
  say config no
fi

# The peers' preshared keys (preshared_keys = true): names and digests only (preshared-keys.sh).
psk_report "$iface"

# wgfleet's block in /etc/hosts for this interface, as a digest (hosts_file = true).
say hosts_block "$(hosts_block_digest "$iface")"

# Peers of the running interface: `dump` minus its first line (the interface line carries the private key).
if has wg && [ $link = yes ]; then
  echo '--- peers'
  if [ $wg_ok = yes ]; then
    rest=${wg_lines#*$'\n'}
    [ "$rest" = "$wg_lines" ] || printf '%s\n' "$rest"
  fi
  echo '--- end peers'
fi
exit 0
