# wg-routes.sh — the routes a live change of peers needs, shared by apply.sh and peer-add.sh. Function
# definitions only (see lib.sh); they use the calling script's $iface and its fail().

# Routes for AllowedIPs not yet routed to the interface — what wg-quick does at `up`, for a live syncconf.
# One pass: the interface's IPv4 routes are read once and every IPv4 AllowedIP is checked against them in
# one awk (a covering prefix counts, as `ip route show match` would: 10.0.0.0/24 covers 10.0.0.3/32), keyed
# by prefix length, so a node of 1,000 peers costs one `ip` call, not 1,000. IPv6 AllowedIPs (dual stack)
# keep wg-quick's own per-network `ip -6 route show match` query: the interface's cidr6 prefix route (from
# its Address) covers every peer's /128, so nothing is added for them; only a range outside it is.
# With NETs (peer-add: the AllowedIPs it just added), only those are checked; else every AllowedIP of the
# interface is.
add_missing_routes() {
  local nets v4 net
  if [ $# -gt 0 ]; then
    nets=$(printf '%s\n' "$@" | grep -v '/0$')
  else
    nets=$(wg show "$iface" allowed-ips | cut -f2- | tr ' \t' '\n\n' | grep -v '^(none)$' | grep -v '/0$' | sort -u)
  fi
  v4=$(ip -4 route show dev "$iface" 2>/dev/null)
  for net in $(printf '%s\n' "$nets" | awk -v routes="$v4" '
    function num(a,   p) { split(a, p, "."); return ((p[1] * 256 + p[2]) * 256 + p[3]) * 256 + p[4] }
    function key(base, len) { return len "/" int(base / 2 ^ (32 - len)) }
    BEGIN {
      n = split(routes, line, "\n")
      for (i = 1; i <= n; i++) {
        split(line[i], w, " "); r = w[1]; len = 32
        if (index(r, "/")) { len = substr(r, index(r, "/") + 1) + 0; r = substr(r, 1, index(r, "/") - 1) }
        if (r !~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/) continue
        routed[key(num(r), len)] = 1; lens[len] = 1
      }
    }
    /:/ { print; next }
    /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+(\/[0-9]+)?$/ {
      a = $0; len = 32
      if (index(a, "/")) { len = substr(a, index(a, "/") + 1) + 0; a = substr(a, 1, index(a, "/") - 1) }
      base = num(a)
      for (l in lens) if (l + 0 <= len && (key(base, l + 0) in routed)) next
      print
    }'); do
    if [ "${net#*:}" != "$net" ] && [ -n "$(ip -6 route show dev "$iface" match "$net" 2>/dev/null)" ]; then continue; fi
    ip route add "$net" dev "$iface" || fail "could not add the route $net dev $iface"
    echo "route=added $net"
  done
}
