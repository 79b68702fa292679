# probe.sh IFACE — read-only look at a host; leaves nothing behind.
# Prints `key=value` lines (values on one line), then the masked current config between markers.
# Never prints a secret: the config goes through lib.sh's mask_secrets, and the dump through peer_lines
# (the interface line, which holds the private key, dropped; preshared keys hidden) — here, on the host.
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
say kernel "$(uname -r)"
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
if ls /etc/yum.repos.d/epel*.repo >/dev/null 2>&1; then say epel yes; else say epel no; fi
if [ "$(id -u)" = 0 ]; then say root yes; else say root no; fi

# Firewalls: the raw listings (firewall-listings.sh, as doctor prints them); wgfleet judges them and never
# enables an inactive firewall.
firewall_listings

say ip_forward "$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null)"
[ -f /etc/sysctl.d/99-wgfleet.conf ] && say forward_file yes || say forward_file no
# Dual stack: IPv6 on at all (a new interface takes `default`'s disable_ipv6), IPv6 forwarding, and
# whether wgfleet's sysctl file turns it on.
if [ -r /proc/sys/net/ipv6/conf/default/disable_ipv6 ] && [ "$(cat /proc/sys/net/ipv6/conf/default/disable_ipv6)" = 0 ]; then say ipv6 yes; else say ipv6 no; fi
say ip6_forward "$(cat /proc/sys/net/ipv6/conf/all/forwarding 2>/dev/null)"
grep -qx 'net.ipv6.conf.all.forwarding = 1' /etc/sysctl.d/99-wgfleet.conf 2>/dev/null && say forward6_file yes || say forward6_file no
uplink=$(ip -4 route show default 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n1)
say uplink "$uplink"
# Where each site-to-site subnet is routed (the verdict judges forwarding out of that interface).
route_listing
# The uplink's own IPv4 addresses: under exit_via, replies from them stay on the main table (SSH from anywhere).
[ -n "$uplink" ] && say uplink_addresses "$(ip -4 -o addr show dev "$uplink" scope global 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4 }' | head -n 16 | tr '\n' ' ')"
conn=${WGFLEET_SSH_CONNECTION:-${SSH_CONNECTION:-}}
say ssh_client "${conn%% *}"
# A link already named like the interface: its kind (`ip -d`: wireguard, tun, bridge, vlan, bond, veth...;
# none for a NIC), whether it is WireGuard (kernel, or a wireguard-go tun that `wg show` answers for) and
# whether the main table's default route uses it. wgfleet never takes over a link that is not its own.
if ip link show dev "$iface" >/dev/null 2>&1; then
  link_json=$(ip -j -d link show dev "$iface" 2>/dev/null)
  case $link_json in
    '['*) kind=$(printf '%s' "$link_json" | sed -n 's/.*"info_kind":"\([^"]*\)".*/\1/p' | head -n1); say iface_kind "${kind:-device}" ;;
    *) kind=; say iface_kind unknown ;;
  esac
  if [ "$kind" = wireguard ] || { has wg && wg show "$iface" >/dev/null 2>&1; }; then say iface_wireguard yes; else say iface_wireguard no; fi
  if [ -n "$(ip -4 route show default dev "$iface" 2>/dev/null)$(ip -6 route show default dev "$iface" 2>/dev/null)" ]; then
    say iface_default_route yes
  else
    say iface_default_route no
  fi
fi

if [ -d /etc/wireguard ]; then say dir_mode "$(stat -c %a /etc/wireguard)"; else say dir_mode none; fi
if [ -f "$keyfile" ]; then
  say key yes
  say key_mode "$(stat -c %a "$keyfile")"
  has wg && say pubkey "$(wg pubkey <"$keyfile" 2>/dev/null)"
else
  say key no
fi

if ip link show dev "$iface" >/dev/null 2>&1; then say iface_up yes; else say iface_up no; fi
# The running interface's own key: it must agree with the key file's (wgfleet never picks one of two).
if has wg && ip link show dev "$iface" >/dev/null 2>&1; then say iface_pubkey "$(wg show "$iface" public-key 2>/dev/null)"; fi
if [ -d /run/systemd/system ]; then
  say service_enabled "$(systemctl is-enabled "wg-quick@$iface" 2>/dev/null || true)"
  say service_active "$(systemctl is-active "wg-quick@$iface" 2>/dev/null || true)"
fi

[ -e "/etc/wireguard/.$iface.pending" ] && say pending yes || say pending no
if [ -f "$conf" ]; then
  say config yes
  say config_mode "$(stat -c %a "$conf")"
  # The public key of the config's own PrivateKey (wg-quick starts the interface from it), computed here;
  # the private key only passes through the pipe.
  has wg && say config_pubkey "$(sed -n 's/^PrivateKey = //p' "$conf" | head -n1 | wg pubkey 2>/dev/null)"
  if [ "$(head -n1 "$conf")" = "# Managed by wgfleet. Local changes are overwritten." ]; then say managed yes; else say managed no; fi
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
if has wg && ip link show dev "$iface" >/dev/null 2>&1; then
  echo '--- peers'
  peer_lines "$iface"
  echo '--- end peers'
fi
exit 0
