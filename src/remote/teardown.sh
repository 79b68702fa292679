# teardown.sh IFACE PORT PURGE — take a node out of the network (remove-node).
# Stops and disables wg-quick@IFACE and removes its config (kept as IFACE.conf.removed-by-wgfleet, 0600)
# and its peers' preshared keys (IFACE.psk).
# PURGE=yes also removes the key pair, the firewall rules and the forwarding settings wgfleet added, and
# sets net.ipv4.ip_forward (and IPv6 forwarding) back to what apply.sh recorded before turning it on.
set +xv
set -eu
iface=$1 port=$2 purge=$3
conf=/etc/wireguard/$iface.conf
keyfile=/etc/wireguard/$iface.key
forward_before=/etc/wireguard/.ip_forward.before-wgfleet
forward6_before=/etc/wireguard/.ipv6_forward.before-wgfleet

# Forwarding back to its value before wgfleet: left on when it was on already (Docker, libvirt, networkd
# turn it on too), or when the system's own sysctl configuration turns it on; left as it is, with a
# warning, when nothing was recorded (set by an older wgfleet, or the record was removed). Once for IPv4,
# once for IPv6 (a dual-stack relay). An uplink's accept_ra = 2 (apply.sh) stays until reboot: it only
# lets the interface keep accepting router advertisements.
restore_forwarding() { # RECORD PROC-PATH SYSCTL-NAME KEY-REGEX LABEL
  local record=$1 proc=$2 name=$3 regex=$4 label=$5 before now wanted
  before=$(cat "$record" 2>/dev/null || true)
  now=$(cat "$proc" 2>/dev/null || true)
  if [ "$before" = 1 ]; then
    echo "$label=kept on (it was on before wgfleet)"
  elif [ "$before" != 0 ]; then
    echo "warning=$name left at ${now:-?}: no record of its value before wgfleet"
  elif [ "$now" = 0 ]; then
    echo "$label=off"
  # Release difference: Debian 13 (trixie) ships no /etc/sysctl.conf (only /etc/sysctl.d and
  # /usr/lib/sysctl.d); grep -s passes over the files a release lacks.
  elif wanted=$(grep -rlsE "^[[:space:]]*${regex}[[:space:]]*=[[:space:]]*1" /etc/sysctl.conf /etc/sysctl.d /run/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d | head -n1) && [ -n "$wanted" ]; then
    echo "$label=kept on ($wanted turns it on)"
  else
    sysctl -q -w "$name=0" || { echo "warning=could not set $name back to 0"; return 0; }
    echo "$label=restored 0"
  fi
  rm -f "$record"
}

if [ -d /run/systemd/system ]; then
  if systemctl is-enabled -q "wg-quick@$iface" 2>/dev/null || systemctl is-active -q "wg-quick@$iface" 2>/dev/null; then
    systemctl disable -q --now "wg-quick@$iface" 2>/dev/null || true
    echo "service=stopped"
  fi
fi
# A WireGuard link: the kernel's, or a wireguard-go tun that `wg show` answers for. Nothing else is ever
# taken down or deleted.
is_wireguard_link() {
  ip -j -d link show dev "$iface" 2>/dev/null | grep -q '"info_kind":"wireguard"' || wg show "$iface" >/dev/null 2>&1
}
if ip link show dev "$iface" >/dev/null 2>&1; then
  if is_wireguard_link; then
    wg-quick down "$iface" >/dev/null 2>&1 || ip link delete dev "$iface" 2>/dev/null || true
    echo "interface=removed"
  else
    echo "warning=$iface is not a WireGuard interface: left in place"
  fi
fi
if [ -f "$conf" ]; then
  set_marker
  if [ "$(head -n1 "$conf")" = "$marker" ]; then
    mv -f "$conf" "$conf.removed-by-wgfleet"
    chmod 0600 "$conf.removed-by-wgfleet"
    echo "config=removed"
  else
    echo "warning=$conf was not written by wgfleet: left in place"
  fi
fi
rm -f "$conf.bak"
# The preshared keys of the node's pairs: the pairs are gone (a node added again gets new ones).
if [ -d "/etc/wireguard/$iface.psk" ]; then rm -rf -- "/etc/wireguard/$iface.psk"; echo "psk=removed"; fi
rm -rf /etc/wireguard/.wgfleet.* 2>/dev/null || true
# The names of the fleet (hosts_file): the node has left it. Only when the markers pair up, as hosts.sh.
if grep -qxF "# BEGIN wgfleet $iface" /etc/hosts 2>/dev/null &&
  [ "$(grep -cxF "# BEGIN wgfleet $iface" /etc/hosts)" = 1 ] && [ "$(grep -cxF "# END wgfleet $iface" /etc/hosts)" = 1 ]; then
  if tmp=$(mktemp /etc/hosts.wgfleet.XXXXXX) && hosts_without_block "$iface" /etc/hosts >"$tmp"; then
    chmod --reference=/etc/hosts "$tmp" 2>/dev/null || chmod 644 "$tmp"
    mv -f "$tmp" /etc/hosts 2>/dev/null || { cat "$tmp" >/etc/hosts; rm -f "$tmp"; }
    echo "hosts=removed"
  else
    rm -f "$tmp"
    echo "warning=could not take wgfleet's block out of /etc/hosts"
  fi
fi

if [ "$purge" = yes ]; then
  rm -f "$keyfile" "$conf.removed-by-wgfleet"
  echo "key=removed"
  # The default route's interface: an exit node's route out to it (ufw); the zone apply opened the port in (firewalld).
  uplink=$(ip -4 route show default 2>/dev/null | sed -n 's/.* dev \([A-Za-z0-9_=+.][A-Za-z0-9_=+.-]*\).*/\1/p' | head -n 1)
  if has ufw && ufw status 2>/dev/null | grep -q '^Status: active'; then
    ufw delete allow "$port/udp" >/dev/null 2>&1 && echo "firewall=ufw delete allow $port/udp" || true
    ufw route delete allow in on "$iface" out on "$iface" >/dev/null 2>&1 && echo "firewall=ufw route deleted" || true
    if [ -n "$uplink" ] && ufw route delete allow in on "$iface" out on "$uplink" >/dev/null 2>&1; then echo "firewall=ufw route to $uplink deleted"; fi
    # Site-to-site subnets: the routes out to the interfaces they were routed through (any link but those above).
    for dev in $(ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | head -n 64); do
      case $dev in "$iface" | "$uplink" | lo | *[!A-Za-z0-9_=+.-]*) continue ;; esac
      if ufw route delete allow in on "$iface" out on "$dev" >/dev/null 2>&1; then echo "firewall=ufw route to $dev deleted"; fi
    done
  elif has firewall-cmd && firewall-cmd --state >/dev/null 2>&1; then
    zone=$( ([ -n "$uplink" ] && firewall-cmd --get-zone-of-interface="$uplink" 2>/dev/null) || firewall-cmd --get-default-zone 2>/dev/null)
    case $zone in '' | -* | *[!A-Za-z0-9_.+-]*) zone=public ;; esac
    firewall-cmd -q --permanent --zone="$zone" --remove-port="$port/udp" 2>/dev/null || true
    firewall-cmd -q --zone="$zone" --remove-port="$port/udp" 2>/dev/null || true
    # What apply adds on a node that forwards: the interface in zone wgfleet, policies wgfleet-exit and
    # wgfleet-forward. Deleted permanently; at runtime the interface leaves the zone, and the emptied zone and
    # policies stay inert until firewalld next reloads (a reload here would drop runtime settings wgfleet did
    # not make).
    firewall-cmd -q --zone=wgfleet --remove-interface="$iface" 2>/dev/null || true
    for policy in wgfleet-exit wgfleet-forward wgfleet-subnets; do firewall-cmd -q --permanent --delete-policy="$policy" 2>/dev/null || true; done
    firewall-cmd -q --permanent --delete-zone=wgfleet 2>/dev/null || true
    echo "firewall=firewalld removed $port/udp ($zone)"
  fi
  if [ -f /etc/sysctl.d/99-wgfleet.conf ] || [ -f "$forward_before" ] || [ -f "$forward6_before" ]; then
    if [ -f /etc/sysctl.d/99-wgfleet.conf ]; then
      rm -f /etc/sysctl.d/99-wgfleet.conf
      echo "forward_file=removed"
    fi
    if [ -f "$forward_before" ] || [ ! -f "$forward6_before" ]; then
      restore_forwarding "$forward_before" /proc/sys/net/ipv4/ip_forward net.ipv4.ip_forward 'net[./]ipv4[./]ip_forward' forward
    fi
    [ ! -f "$forward6_before" ] || restore_forwarding "$forward6_before" /proc/sys/net/ipv6/conf/all/forwarding net.ipv6.conf.all.forwarding 'net[./]ipv6[./]conf[./]all[./]forwarding' forward6
  fi
fi
echo "done=yes"
