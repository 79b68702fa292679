# status.sh IFACE — one read-only look at a running interface, for `wgfleet status`. Changes nothing.
# Prints `key=value` lines, the peer lines of `wg show IFACE dump` between markers, then `end=ok` (so a
# cut-off output is recognised). The host's clock is read in this same exec, right after the dump: ages
# are computed against it, so the operator's clock does not matter.
# Never prints a secret: the dump goes through lib.sh's peer_lines (the interface line — private key,
# public key, listen port, fwmark — dropped; preshared keys hidden) here, on the host.
set +xv
set -u
iface=$1

# Cheap on purpose (`status` runs from cron against every node): ip, one `wg show` (through awk) and
# date; the flags' test is bash's own.
# Interface: absent, or present and administratively up or down.
link=absent
up_flag='[<,]UP[,>]'
if has ip; then
  if flags=$(ip -o link show dev "$iface" 2>/dev/null); then
    if [[ $flags =~ $up_flag ]]; then link=up; else link=down; fi
  fi
elif [ -r "/sys/class/net/$iface/flags" ]; then
  # IFF_UP is bit 0 of the flags word.
  if [ $(( $(cat "/sys/class/net/$iface/flags") & 1 )) -eq 1 ]; then link=up; else link=down; fi
fi
say interface "$link"

if has wg; then say wg yes; else say wg no; fi

peers=
wg_ok=no
if has wg && [ "$link" != absent ]; then
  if peers=$(peer_lines "$iface" own); then wg_ok=yes; fi
fi
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
say end ok
exit 0
