# probe.sh IFACE — read-only look at a host; leaves nothing behind.
# Prints `key=value` lines (values on one line), then the masked current config between markers.
# Never prints a private key: the config's PrivateKey/PresharedKey values are masked here, on the host,
# and the interface line of `wg show dump` (which holds the private key) is never printed.
set -u
iface=$1
conf=/etc/wireguard/$iface.conf
keyfile=/etc/wireguard/$iface.key

say() { printf '%s=%s\n' "$1" "$2"; }
has() { command -v "$1" >/dev/null 2>&1; }

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
firewall_listings ''

say ip_forward "$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null)"
[ -f /etc/sysctl.d/99-wgfleet.conf ] && say forward_file yes || say forward_file no
say uplink "$(ip -4 route show default 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n1)"
conn=${WGFLEET_SSH_CONNECTION:-${SSH_CONNECTION:-}}
say ssh_client "${conn%% *}"

if [ -d /etc/wireguard ]; then say dir_mode "$(stat -c %a /etc/wireguard)"; else say dir_mode none; fi
if [ -f "$keyfile" ]; then
  say key yes
  say key_mode "$(stat -c %a "$keyfile")"
  has wg && say pubkey "$(wg pubkey <"$keyfile" 2>/dev/null)"
else
  say key no
fi

if ip link show dev "$iface" >/dev/null 2>&1; then say iface_up yes; else say iface_up no; fi
if [ -d /run/systemd/system ]; then
  say service_enabled "$(systemctl is-enabled "wg-quick@$iface" 2>/dev/null || true)"
  say service_active "$(systemctl is-active "wg-quick@$iface" 2>/dev/null || true)"
fi

[ -e "/etc/wireguard/.$iface.pending" ] && say pending yes || say pending no
if [ -f "$conf" ]; then
  say config yes
  say config_mode "$(stat -c %a "$conf")"
  if [ "$(head -n1 "$conf")" = "# Managed by wgfleet. Local changes are overwritten." ]; then say managed yes; else say managed no; fi
  echo '--- config'
  # Secrets are masked here, on the host: the PrivateKey/PresharedKey lines (also commented out, in any
  # spelling wg accepts), and any other key-shaped token except on PublicKey lines.
  awk '{
    squeezed = tolower($0); gsub(/[[:space:]]/, "", squeezed)
    if (squeezed ~ /^privatekey=/) { print "PrivateKey = @WGFLEET_PRIVATE_KEY@"; next }
    if (squeezed ~ /^presharedkey=/) { print "PresharedKey = @WGFLEET_PRESHARED_KEY@"; next }
    if (squeezed ~ /^#+(privatekey|presharedkey)=/) { print "# (a commented-out secret key line, hidden)"; next }
    print
  }' "$conf" | sed -E '/^[[:space:]]*publickey[[:space:]]*=/I! s#[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=#(hidden key)#g'
  echo '--- end config'
else
  say config no
fi

# Peers of the running interface: `dump` minus its first line (the interface line carries the private key).
if has wg && ip link show dev "$iface" >/dev/null 2>&1; then
  echo '--- peers'
  wg show "$iface" dump 2>/dev/null | tail -n +2 | awk -F'\t' 'BEGIN { OFS = "\t" } { if ($2 != "(none)") $2 = "(hidden)"; print }'
  echo '--- end peers'
fi
exit 0
