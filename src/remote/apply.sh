# apply.sh IFACE WRITE ACTION ENABLE FORWARD ADOPT LEN [FIREWALL...] — converge one host to its rendered config.
#   WRITE   yes|no   the rendered config follows on stdin (PrivateKey as the marker; filled in here)
#   ACTION  start|restart|syncconf|none   what the running interface needs
#   ENABLE  yes|no   enable wg-quick@IFACE (systemd only): wgfleet decided it from the probe, not asked here
#   FORWARD yes|dual|no   relay/exit: persistent ip_forward (dual: IPv6 forwarding too, for the cidr6 overlay)
#   ADOPT   yes|no   replace a config that wgfleet did not write (backed up first)
#   LEN     bytes of the rendered config on stdin (a payload cut short is refused, never installed)
#   FIREWALL  the firewall actions wgfleet decided (src/firewall/actions.ts), one token each, run in order
#             and nothing else: the firewall is judged by wgfleet, never here.
# Prints `key=value` results. Every write is temp file + rename: interrupted at any moment, the config is
# either the old one or the new one, never half of either.
# Peer entries this run brings up (all of them on start/restart, new ones on syncconf) come up *fresh*:
# without their PersistentKeepalive, so they send nothing (`fresh=KEY` each, `keepalive=held` when one was
# held back); wgfleet's verify step starts one handshake per pair once every node has applied, then sets
# the interface to this file (see hold_keepalives).
set +xv
set -eu
iface=$1 write=$2 action=$3 enable=$4 forward=$5 adopt=$6 len=$7
shift 7
case $enable in yes | no) ;; *) echo "error=bad ENABLE $enable"; exit 2 ;; esac
case $forward in yes | dual | no) ;; *) echo "error=bad FORWARD $forward"; exit 2 ;; esac
firewall_actions=("$@")
# The firewall actions' token grammar (names as wgfleet validates them): every token is checked whole before
# anything changes.
firewall_action_ok() {
  local name='[A-Za-z0-9_][A-Za-z0-9_.+-]{0,31}' ifname='[A-Za-z0-9_=+.][A-Za-z0-9_=+.-]{0,14}' port='[1-9][0-9]{0,4}' scope='(runtime|permanent|runtime,permanent)'
  local policy='wgfleet-(forward|exit|subnets)'
  [[ $1 =~ ^(ufw-allow:$port|ufw-route:$ifname:$ifname|firewalld-port:$name:$port:$scope|firewalld-new-zone:wgfleet|firewalld-zone-forward:wgfleet:$scope|firewalld-interface:wgfleet:$ifname:$scope|firewalld-new-policy:$policy|firewalld-policy-zone:$policy:(ingress|egress):$name:$scope|firewalld-reload)$ ]]
}
for token in ${firewall_actions[@]+"${firewall_actions[@]}"}; do
  firewall_action_ok "$token" || { echo "error=bad firewall action $token"; exit 2; }
done
pending=/etc/wireguard/.$iface.pending
conf=/etc/wireguard/$iface.conf
keyfile=/etc/wireguard/$iface.key
pskdir=/etc/wireguard/$iface.psk
set_marker
key_line='PrivateKey = @WGFLEET_PRIVATE_KEY@'
# net.ipv4.ip_forward as it was before wgfleet first turned it on: `remove-node --purge` restores it.
forward_before=/etc/wireguard/.ip_forward.before-wgfleet
forward6_before=/etc/wireguard/.ipv6_forward.before-wgfleet

fail() { echo "error=$1"; exit "${2:-30}"; }
systemd=no; [ -d /run/systemd/system ] && systemd=yes
keepalive_held=no
# A first bring-up (start_service): wg-quick's MTU choice and its routes are made here, once (see with_held_config).
first_bring_up=no
# The bring-up copy said `Table = off`: the routes are added after the bring-up (add_missing_routes).
routes_after_up=no

# Temp files of an interrupted earlier run: never left to linger.
rm -rf /etc/wireguard/.wgfleet.* 2>/dev/null || true

write_config() {
  [ -s "$keyfile" ] || fail "key file $keyfile is missing"
  if [ -f "$conf" ] && [ "$(head -n1 "$conf")" != "$marker" ] && [ "$adopt" != yes ]; then
    fail "$conf exists and was not written by wgfleet; rerun with --adopt to replace it (it will be backed up)" 31
  fi
  tmpdir=$(umask 077 && mktemp -d /etc/wireguard/.wgfleet.XXXXXX) || fail "cannot create a temporary folder in /etc/wireguard"
  [ -n "$tmpdir" ] && [ -d "$tmpdir" ] || fail "cannot create a temporary folder in /etc/wireguard"
  trap 'rm -rf "$tmpdir"' EXIT
  umask 077
  cat >"$tmpdir/rendered"
  [ "$(wc -c <"$tmpdir/rendered")" = "$len" ] || fail "the config arrived incomplete ($(wc -c <"$tmpdir/rendered") of $len bytes): nothing changed"
  [ "$(head -n1 "$tmpdir/rendered")" = "$marker" ] || fail "rendered config lacks the wgfleet marker (not sent whole?)"
  if grep -q '@WGFLEET_UPLINK@' "$tmpdir/rendered"; then
    fail "this node is an exit (exit_via) but its uplink is unknown (no default route, or an unusable interface name): add a default route, then rerun"
  fi
  [ "$(grep -cxF "$key_line" "$tmpdir/rendered")" = 1 ] || fail "rendered config must hold exactly one private key marker"
  # Fill the private key in from the key file and each peer's preshared key from its file
  # (preshared-keys.sh), here on the host; they are never printed.
  fill_rc=0
  psk_fill "$keyfile" "$pskdir" <"$tmpdir/rendered" >"$tmpdir/$iface.conf" || fill_rc=$?
  case $fill_rc in
    0) ;;
    4) fail "a peer's preshared key file is missing ($pskdir): nothing changed; rerun wgfleet init" ;;
    *) fail "could not fill in the private key" ;;
  esac
  rm -f "$tmpdir/rendered"
  # Check the result the way wg-quick will read it.
  stripped=$(wg-quick strip "$tmpdir/$iface.conf" 2>&1) || fail "wg-quick rejects the new config: $(printf '%s\n' "$stripped" | mask_secrets "$keyfile" | head -n1)"
  printf '%s\n' "$stripped" | grep -q '^PrivateKey = ..*' || fail "new config has no private key after filling in"
  if [ -f "$conf" ]; then
    cp -p "$conf" "$tmpdir/backup" || fail "could not back up $conf (disk full?): nothing changed"
    chmod 0600 "$tmpdir/backup"
    mv -f "$tmpdir/backup" "$conf.bak" || fail "could not back up $conf: nothing changed"
    echo "backup=$conf.bak"
  fi
  chown root:root "$tmpdir/$iface.conf"
  chmod 0600 "$tmpdir/$iface.conf"
  sync "$tmpdir/$iface.conf" 2>/dev/null || true
  # Until the interface has been updated, a marker says so: a run cut off after the rename is finished by
  # the next one (probe reports the marker; the interface is then restarted from the file).
  : >"$pending" || fail "cannot write $pending"
  mv -f "$tmpdir/$iface.conf" "$conf" || fail "could not move the new config into place: the old one is unchanged"
  echo "config=written"
}

# Records a forwarding switch's value once, before wgfleet first changes it: forwarding may well be on
# already (Docker, libvirt, networkd), and then it must stay on when this node leaves.
record_before() { # FILE PROC-PATH NAME
  [ ! -f "$1" ] || return 0
  before=$(cat "$2")
  case $before in 0 | 1) ;; *) fail "cannot read $3" ;; esac
  tmp=$(umask 077 && mktemp /etc/wireguard/.wgfleet.XXXXXX) || fail "cannot create a temporary file in /etc/wireguard"
  printf '%s\n' "$before" >"$tmp"
  mv -f "$tmp" "$1" || fail "cannot write $1"
}

set_forwarding() {
  want='net.ipv4.ip_forward = 1'
  record_before "$forward_before" /proc/sys/net/ipv4/ip_forward net.ipv4.ip_forward
  if [ "$forward" = dual ]; then
    [ -r /proc/sys/net/ipv6/conf/all/forwarding ] || fail "this node relays the IPv6 overlay (cidr6), but IPv6 is disabled in its kernel"
    record_before "$forward6_before" /proc/sys/net/ipv6/conf/all/forwarding net.ipv6.conf.all.forwarding
    want="$want
net.ipv6.conf.all.forwarding = 1"
    # Linux stops accepting router advertisements on an interface with accept_ra = 1 once it forwards: a
    # host whose IPv6 default route came from an RA would lose it at the route's lifetime. accept_ra = 2
    # keeps accepting them while forwarding, for the interface that route goes through.
    ra_dev=$(ip -6 route show default proto ra 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n1)
    # The slash form keeps a dot in an interface name (a VLAN, eth0.100) a dot, in sysctl and in the file.
    if [[ $ra_dev =~ ^[A-Za-z0-9_.@-]{1,15}$ && $ra_dev != . && $ra_dev != .. ]] && [ "$(cat "/proc/sys/net/ipv6/conf/$ra_dev/accept_ra" 2>/dev/null)" = 1 ]; then
      want="$want
net/ipv6/conf/$ra_dev/accept_ra = 2"
      sysctl -q -w "net/ipv6/conf/$ra_dev/accept_ra=2" >/dev/null || fail "could not set net/ipv6/conf/$ra_dev/accept_ra to 2"
      echo "accept_ra=kept on $ra_dev"
    elif grep -q 'accept_ra = 2' /etc/sysctl.d/99-wgfleet.conf 2>/dev/null; then
      # Kept from an earlier run (the RA route may be gone for now): the setting stays what it was made.
      want="$want
$(grep 'accept_ra = 2' /etc/sysctl.d/99-wgfleet.conf)"
    fi
  fi
  if [ "$(cat /etc/sysctl.d/99-wgfleet.conf 2>/dev/null)" != "$want" ]; then
    tmp=$(mktemp /etc/sysctl.d/.99-wgfleet.XXXXXX)
    printf '%s\n' "$want" >"$tmp"
    chmod 0644 "$tmp"
    mv -f "$tmp" /etc/sysctl.d/99-wgfleet.conf
    echo "forward_file=written"
  fi
  if [ "$(cat /proc/sys/net/ipv4/ip_forward)" != 1 ]; then
    sysctl -q -w net.ipv4.ip_forward=1 >/dev/null || fail "could not enable net.ipv4.ip_forward"
    echo "forward=enabled"
  fi
  if [ "$forward" = dual ] && [ "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" != 1 ]; then
    sysctl -q -w net.ipv6.conf.all.forwarding=1 >/dev/null || fail "could not enable net.ipv6.conf.all.forwarding"
    echo "forward6=enabled"
  fi
}

# Runs exactly the actions given, in order; decides nothing.
open_firewall() {
  local token IFS=:
  local -a f
  for token in ${firewall_actions[@]+"${firewall_actions[@]}"}; do
    f=($token)
    case ${f[0]} in
      ufw-allow) ufw allow "${f[1]}/udp" comment wgfleet >/dev/null || fail "ufw allow ${f[1]}/udp failed" ;;
      ufw-route) ufw route allow in on "${f[1]}" out on "${f[2]}" comment wgfleet >/dev/null || fail "ufw route allow in on ${f[1]} out on ${f[2]} failed" ;;
      firewalld-port) fw_scoped "${f[3]}" --zone="${f[1]}" --add-port="${f[2]}/udp" ;;
      firewalld-new-zone)
        firewall-cmd -q --permanent --new-zone=wgfleet || fail "firewall-cmd --permanent --new-zone=wgfleet failed"
        firewall-cmd -q --permanent --zone=wgfleet --add-service=ssh || fail "firewall-cmd --permanent --zone=wgfleet --add-service=ssh failed" ;;
      firewalld-zone-forward) fw_scoped "${f[2]}" --zone=wgfleet --add-forward ;;
      firewalld-interface) fw_scoped "${f[3]}" --zone=wgfleet --change-interface="${f[2]}" ;;
      firewalld-new-policy)
        firewall-cmd -q --permanent --new-policy="${f[1]}" || fail "firewall-cmd --permanent --new-policy=${f[1]} failed"
        firewall-cmd -q --permanent --policy="${f[1]}" --set-target=ACCEPT || fail "firewall-cmd --permanent --policy=${f[1]} --set-target=ACCEPT failed" ;;
      firewalld-policy-zone) fw_scoped "${f[4]}" --policy="${f[1]}" --add-"${f[2]}"-zone="${f[3]}" ;;
      firewalld-reload) firewall-cmd -q --reload || fail "firewall-cmd --reload failed" ;;
    esac
    echo "firewall=$token"
  done
}

# fw_scoped SCOPE ARGS... — `firewall-cmd ARGS` now (runtime) and/or with --permanent.
fw_scoped() {
  local scope=$1 IFS=' '
  shift
  case ,$scope, in *,runtime,*) firewall-cmd -q "$@" || fail "firewall-cmd $* failed" ;; esac
  case ,$scope, in *,permanent,*) firewall-cmd -q --permanent "$@" || fail "firewall-cmd --permanent $* failed" ;; esac
}

# add_missing_routes: in wg-routes.sh (shared with peer-add.sh).

# `wg syncconf` sets only what the file gives: a peer whose entry no longer has a PresharedKey (preshared
# keys turned off, a pair left without one) keeps the key it runs with — and loses every handshake once the
# other end restarts without one. The interface is made to match the file: such keys are cleared.
clear_stale_psks() {
  local keyed peer psk
  keyed=$(printf '%s\n' "$stripped" | awk '/^\[/ { key = "" } /^PublicKey = / { key = $3 } /^PresharedKey = / && key != "" { print key }')
  while read -r peer psk; do
    [ -n "$peer" ] && [ -n "$psk" ] && [ "$psk" != "(none)" ] || continue
    printf '%s\n' "$keyed" | grep -qxF -- "$peer" && continue
    wg set "$iface" peer "$peer" preshared-key /dev/null || fail "could not clear a preshared key the config no longer gives"
  done < <(wg show "$iface" preshared-keys)
}

sync_config() {
  stripped=$(wg-quick strip "$iface") || fail "wg-quick strip $iface failed"
  [ -n "$stripped" ] || fail "wg-quick strip $iface printed nothing"
  printf '%s\n' "$stripped" | grep -q '^PrivateKey = ..*' || fail "stripped config holds no private key; not syncing"
  # Peers new to the running interface come up fresh (see hold_keepalives); the others keep their keepalive.
  live=$(wg show "$iface" peers) || fail "wg show $iface peers failed"
  held_dir=$(umask 077 && mktemp -d /etc/wireguard/.wgfleet.XXXXXX) || fail "cannot create a temporary folder in /etc/wireguard"
  (umask 077 && printf '%s\n' "$stripped" | hold_keepalives "$live" "$held_dir/notes" >"$held_dir/held") || held_fail "could not prepare the sync"
  report_fresh "$held_dir/notes"
  wg syncconf "$iface" "$held_dir/held" || held_fail "wg syncconf $iface failed"
  rm -rf "$held_dir"
  clear_stale_psks
  add_missing_routes
  echo "service=synced"
}

# Why hold keepalives back: WireGuard sends a handshake initiation to a peer with a PersistentKeepalive the
# moment the interface comes up (or the keepalive is turned on). On a fresh fleet the peer is often still
# starting — its interface not up, its firewall not open — and that initiation is lost; WireGuard retries
# only after 5 s, and a NAT-ed node's lost initiation is the only way its peer can ever hear from it. So no
# fresh entry may send anything before every node is up: they come up without keepalive (and nothing else
# queues a packet for them on a fresh host), and verify starts each pair's handshake from one side.
#
# hold_keepalives LIVE_KEYS NOTES_FILE: the config on stdin without the PersistentKeepalive lines of the
# peers whose key is not in LIVE_KEYS (newline-separated; "" = none is live). NOTES_FILE gets `fresh KEY`
# for each such peer, and `held` once if a keepalive line was left out; for pinned_mtu, `endpoint ADDR` per
# peer endpoint given as an address, `endpoint-named` once per one given as a name, `mtu-set` if [Interface]
# has an MTU; for routes_own, `table-set` if [Interface] has a Table, `hooks` if it has a PreUp, PostUp,
# PreDown or PostDown, `allowed-default` if an AllowedIPs holds a /0.
hold_keepalives() {
  LIVE_KEYS=$1 awk -v notes="$2" '
    BEGIN { n = split(ENVIRON["LIVE_KEYS"], k, "\n"); for (i = 1; i <= n; i++) if (k[i] != "") live[k[i]] = 1; printf "" > notes }
    function flush(   i) {
      for (i = 1; i <= len; i++) if (fresh && (i in keepalive)) dropped = 1; else print block[i]
      if (fresh) print "fresh " key > notes
      len = 0; key = ""; fresh = 0; split("", keepalive)
    }
    /^[ \t]*\[/ { flush(); peer = tolower($0) ~ /^[ \t]*\[peer\][ \t]*$/; interface = tolower($0) ~ /^[ \t]*\[interface\][ \t]*$/ }
    { block[++len] = $0 }
    interface && tolower($0) ~ /^[ \t]*mtu[ \t]*=/ { print "mtu-set" > notes }
    interface && tolower($0) ~ /^[ \t]*table[ \t]*=/ { print "table-set" > notes }
    interface && tolower($0) ~ /^[ \t]*(pre|post)(up|down)[ \t]*=/ { print "hooks" > notes }
    peer && tolower($0) ~ /^[ \t]*allowedips[ \t]*=/ { value = $0; sub(/^[^=]*=/, "", value); sub(/#.*/, "", value); gsub(/[ \t\r]/, "", value); if (("," value ",") ~ /\/0,/) print "allowed-default" > notes }
    peer && tolower($0) ~ /^[ \t]*endpoint[ \t]*=/ {
      value = $0; sub(/^[^=]*=[ \t]*/, "", value); sub(/[ \t\r]*$/, "", value)
      if (value ~ /^[0-9.]+:[0-9]+$/) { sub(/:[0-9]+$/, "", value); print "endpoint " value > notes }
      else if (value ~ /^\[[0-9A-Fa-f:.]+\]:[0-9]+$/) { sub(/\]:[0-9]+$/, "", value); print "endpoint " substr(value, 2) > notes }
      else print "endpoint-named" > notes
    }
    peer && tolower($0) ~ /^[ \t]*publickey[ \t]*=/ { key = $0; sub(/^[^=]*=[ \t]*/, "", key); sub(/[ \t\r]*$/, "", key); fresh = !(key in live) }
    peer && tolower($0) ~ /^[ \t]*persistentkeepalive[ \t]*=/ { keepalive[len] = 1 }
    END { flush(); if (dropped) print "held" > notes }'
}

# report_fresh NOTES_FILE: prints the fresh entries; when keepalives were held back, says so and sets the
# pending marker (the interface is not yet what the file says; verify clears it).
report_fresh() {
  sed -n 's/^fresh /fresh=/p' "$1"
  if grep -qx held "$1"; then
    : >"$pending" || held_fail "cannot write $pending"
    keepalive_held=yes
    echo "keepalive=held"
  fi
}

# A fail that first removes the folder of the held copy (it holds the private key).
held_fail() { rm -rf "$held_dir"; fail "$1"; }

# pinned_mtu NOTES_FILE: the MTU wg-quick up would choose for this config on this host now, or nothing when
# wg-quick must choose itself. Why: with no MTU in [Interface], wg-quick up runs `ip route get` and `ip link
# show` for every peer's endpoint (set_mtu_up; 200 programs in a mesh of 100, about half a second of a
# host's CPU at each bring-up) and sets the largest MTU found less 80. This is the same rule on the same
# tables with two programs: one `ip -batch` for every endpoint's route, one `ip link` for every link's MTU.
# Only for a first bring-up (the interface absent: no route of its own to see) and only when every endpoint
# is an address (wg resolves names itself) and the config names no MTU. The file is left as it is, so
# wg-quick chooses again at every later bring-up, from the tables of that moment.
pinned_mtu() {
  local kind value batch=
  while read -r kind value; do
    case $kind in
      mtu-set | endpoint-named) return 0 ;;
      endpoint) batch+="route get $value"$'\n' ;;
    esac
  done <"$1"
  [ -n "$batch" ] || return 0
  # -force: an endpoint without a route is left out (wg-quick's loop skips it too), the others still asked.
  # The links go through a file beside the notes and the routes through a pipe: an environment string
  # or argument of a thousand endpoints' routes would pass Linux's 128 KiB limit.
  local links=${1%/*}/links
  ip -o link show >"$links" 2>/dev/null && [ -s "$links" ] || return 0
  printf '%s' "$batch" | ip -o -force -batch - 2>/dev/null | awk '
    FNR == NR { name = $2; sub(/:$/, "", name); sub(/@.*/, "", name); if (match($0, /mtu [0-9]+/)) link_mtu[name] = substr($0, RSTART + 4, RLENGTH - 4) + 0; next }
    {
      m = 0
      if (match($0, /mtu [0-9]+/)) m = substr($0, RSTART + 4, RLENGTH - 4) + 0
      else if (match($0, /dev [^ ]+/) && (substr($0, RSTART + 4, RLENGTH - 4) in link_mtu)) m = link_mtu[substr($0, RSTART + 4, RLENGTH - 4)]
      if (m > max) max = m
    }
    END { if (max > 80) print max - 80 }' "$links" -
}

# routes_own NOTES_FILE: true when a first bring-up may leave the routes to this script: the copy says
# `Table = off` and add_missing_routes (wg-routes.sh) adds them after the bring-up, from one read of the
# interface's routes. Why: wg-quick up runs `ip route show dev IFACE match NET` for every AllowedIP (99
# programs in a mesh of 100, about a quarter of a second of the newcomer's bring-up, on the critical path
# of add-node). The routes are the same ones (what is not yet routed to the interface), added once the
# interface is up instead of before its PostUp: so only when the config has no hooks (PreUp, PostUp, ...)
# that could see the difference, names no Table of its own (wg-quick's table or fwmark logic stays its own)
# and routes no /0 (wg-quick's default-route rules). The file keeps no Table: every later bring-up is
# wg-quick's own.
routes_own() {
  ! grep -qxE 'table-set|hooks|allowed-default' "$1"
}

# with_held_config CMD...: run CMD, which brings the interface up from $conf (wg-quick reads the file), while
# $conf is the config without the keepalives; it is the full config again before this returns CMD's
# status. Both are whole files renamed into place: $conf is one or the other at every moment.
# (Called on the left of `||`, where set -e is off: every step checks for itself.)
with_held_config() {
  # No config file: nothing to hold back (wg-quick will say what is missing).
  if [ ! -f "$conf" ]; then
    "$@"
    return
  fi
  held_dir=$(umask 077 && mktemp -d /etc/wireguard/.wgfleet.XXXXXX) || fail "cannot create a temporary folder in /etc/wireguard"
  (umask 077 && hold_keepalives '' "$held_dir/notes" <"$conf" >"$held_dir/held") || held_fail "could not prepare $conf for the bring-up"
  report_fresh "$held_dir/notes"
  local mtu= table=
  if [ "$first_bring_up" = yes ]; then
    mtu=$(pinned_mtu "$held_dir/notes")
    ! routes_own "$held_dir/notes" || table=off
  fi
  [[ $mtu =~ ^[0-9]{3,5}$ ]] || mtu=
  if [ "$keepalive_held" != yes ] && [ -z "$mtu" ] && [ -z "$table" ]; then
    rm -rf "$held_dir"
    "$@"
    return
  fi
  if [ -n "$mtu$table" ]; then
    (umask 077 && awk -v mtu="$mtu" -v table="$table" '{ print }
      !done && tolower($0) ~ /^[ \t]*\[interface\][ \t]*$/ { if (mtu != "") print "MTU = " mtu; if (table != "") print "Table = " table; done = 1 }' "$held_dir/held" >"$held_dir/held.own" && mv -f "$held_dir/held.own" "$held_dir/held") || held_fail "could not prepare $conf for the bring-up"
    [ -z "$mtu" ] || echo "mtu=$mtu"
  fi
  if [ -n "$table" ]; then
    # Until the routes are in, the pending marker says the interface is not yet what the file says: cut off
    # or failed before they are, the next run brings the interface up again from the file, with wg-quick's
    # own routes. Set before the bring-up, so no moment lacks it.
    : >"$pending" || held_fail "cannot write $pending"
    routes_after_up=yes
  fi
  cp -p "$conf" "$held_dir/full" || held_fail "could not copy $conf: nothing changed"
  mv -f "$held_dir/held" "$conf" || held_fail "could not put the bring-up config in place: nothing changed"
  held_rc=0
  "$@" || held_rc=$?
  mv -f "$held_dir/full" "$conf" || fail "could not put $conf back after the bring-up: rerun wgfleet init"
  rm -rf "$held_dir"
  return $held_rc
}

quietly() { "$@" >/dev/null 2>&1; }

# A WireGuard link: the kernel's, or a wireguard-go tun that `wg show` answers for. Nothing else is ever
# taken down or deleted (the converge refuses such a node first; this is the host's own check).
is_wireguard_link() {
  ip -j -d link show dev "$iface" 2>/dev/null | grep -q '"info_kind":"wireguard"' || wg show "$iface" >/dev/null 2>&1
}

start_service() {
  # A first bring-up: wg-quick's MTU choice and its routes are made here, once (pinned_mtu, routes_own).
  first_bring_up=yes
  if [ "$systemd" = yes ]; then
    # An interface brought up by hand would make the unit fail: take it down first.
    if ip link show dev "$iface" >/dev/null 2>&1 && ! systemctl is-active -q "wg-quick@$iface"; then
      is_wireguard_link || fail "$iface exists and is not a WireGuard interface: left untouched; choose another interface in [network]" 32
      wg-quick down "$iface" >/dev/null 2>&1 || ip link delete dev "$iface" || true
    fi
    # The journal shows wg-quick's commands (a PostUp line among them): masked like any config text.
    with_held_config systemctl start "wg-quick@$iface" || fail "systemctl start wg-quick@$iface failed: $(journalctl -u "wg-quick@$iface" -n 5 --no-pager 2>/dev/null | mask_secrets "$keyfile" | tail -n 3 | tr '\n' ' ')"
  else
    with_held_config quietly wg-quick up "$iface" || fail "wg-quick up $iface failed"
    echo "warning=no systemd: the interface was brought up with wg-quick and will not come back after a reboot"
  fi
  # The routes the bring-up copy left out (Table = off; the pending marker is set until they are in). Not when
  # nothing came up (a unit already active with its interface gone): as before, verify then says so.
  if [ "$routes_after_up" = yes ] && ip link show dev "$iface" >/dev/null 2>&1; then add_missing_routes; fi
  echo "service=started"
}

# A restart runs the NEW config's PostDown: a masquerade only the old config added (an exit or a subnet
# dropped, subnet_snat turned off, another uplink) would stay behind. The old config's (the backup, when
# wgfleet wrote it) masquerade PostDowns that the new config lacks are run here, parsed strictly: only
# wgfleet's own rule forms, their values as separate arguments, never a line run as it is.
drop_stale_masquerades() {
  local old=$conf.bak line re
  [ -f "$old" ] && [ "$(head -n1 "$old")" = "$marker" ] || return 0
  re='^PostDown = (iptables|ip6tables) -t nat -D POSTROUTING -s ([0-9A-Fa-f.:]+/[0-9]+) -(o|d) ([A-Za-z0-9_=+.:/-]+) -j MASQUERADE( \|\| true)?$'
  while IFS= read -r line; do
    [[ $line =~ $re ]] || continue
    grep -qxF -- "$line" "$conf" && continue
    if "${BASH_REMATCH[1]}" -t nat -D POSTROUTING -s "${BASH_REMATCH[2]}" "-${BASH_REMATCH[3]}" "${BASH_REMATCH[4]}" -j MASQUERADE 2>/dev/null; then
      echo "masquerade=removed ${BASH_REMATCH[2]} ${BASH_REMATCH[4]}"
    fi
  done <"$old"
}

restart_service() {
  drop_stale_masquerades
  if [ "$systemd" = yes ]; then
    with_held_config systemctl restart "wg-quick@$iface" || fail "systemctl restart wg-quick@$iface failed"
  else
    wg-quick down "$iface" >/dev/null 2>&1 || true
    with_held_config quietly wg-quick up "$iface" || fail "wg-quick up $iface failed"
  fi
  echo "service=restarted"
}

# Modes wgfleet promises (docs/design.md §5): /etc/wireguard 0700, key and config 0600, root-owned.
fix_permissions() {
  changed=no
  [ "$(stat -c %a /etc/wireguard)" = 700 ] || { chmod 0700 /etc/wireguard; changed=yes; }
  for f in "$keyfile" "$conf"; do
    [ -f "$f" ] || continue
    [ "$(stat -c %a "$f")" = 600 ] || { chmod 0600 "$f"; changed=yes; }
    [ "$(stat -c %U "$f")" = root ] || { chown root:root "$f"; changed=yes; }
  done
  [ $changed = no ] || echo "permissions=fixed"
}

converge() {
  [ "$write" = yes ] && write_config
  fix_permissions
  case $forward in yes | dual) set_forwarding ;; esac
  open_firewall
  if [ "$enable" = yes ]; then
    [ "$systemd" = yes ] || fail "asked to enable wg-quick@$iface on a host without systemd (a bug in wgfleet)"
    systemctl enable -q "wg-quick@$iface" 2>/dev/null || fail "systemctl enable wg-quick@$iface failed"
    echo "enabled=yes"
  fi
  case $action in
    start) start_service ;;
    restart) restart_service ;;
    syncconf) sync_config ;;
    none) ;;
    *) fail "unknown action $action" ;;
  esac
  # Held keepalives: the interface is not yet what the file says; verify clears the marker when it is.
  [ "$keepalive_held" = yes ] || rm -f "$pending"
  echo "done=yes"
}

# Once started, finish: a client that goes away (Ctrl-C, a cut link) must not leave the host between
# "config written" and "interface updated". Output is collected and printed at the end, so a closed
# channel cannot kill the work half-way through an echo.
trap '' HUP PIPE
out=$(mktemp -d /tmp/.wgfleet-apply.XXXXXX) || { echo "error=cannot create a temporary folder in /tmp"; exit 30; }
trap 'rm -rf "$out"' EXIT
# `set -e` must stay in force inside converge: not on the left of `||` (bash would switch it off there).
set +e
(set -e; converge) >"$out/stdout" 2>"$out/stderr"
rc=$?
cat "$out/stdout" 2>/dev/null
cat "$out/stderr" >&2 2>/dev/null
rm -rf "$out"
exit $rc
