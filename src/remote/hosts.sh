# hosts.sh IFACE ACTION LEN — wgfleet's block in /etc/hosts (`[network] hosts_file = true`).
#   ACTION  write: replace the block for IFACE with the one on stdin (LEN bytes), or add it at the end;
#           remove: take the block out.
# Every other line of /etc/hosts stays as it is. The new file is written beside it and renamed into
# place (atomic); where /etc/hosts is a bind mount (some containers), a rename cannot replace it, and it
# is rewritten in place from the finished copy instead. Owner and mode are kept.
# Refused (exit 3) when the markers do not pair up (an edit cut the block): nothing is changed then.
set +xv
set -eu
iface=$1 action=$2 len=$3
hosts=/etc/hosts
case $iface in '' | -* | *[!a-zA-Z0-9_=+.-]*) echo "hosts.sh: bad interface name" >&2; exit 2 ;; esac
case $action in write | remove) ;; *) echo "hosts.sh: bad action" >&2; exit 2 ;; esac
case $len in '' | *[!0-9]*) echo "hosts.sh: bad length" >&2; exit 2 ;; esac
begin="# BEGIN wgfleet $iface" end="# END wgfleet $iface"

tmp=$(mktemp "$hosts.wgfleet.XXXXXX")
trap 'rm -f "$tmp" "$tmp.block"' EXIT
cat >"$tmp.block"
if [ "$(wc -c <"$tmp.block")" -ne "$len" ]; then echo "hosts.sh: the block was cut short" >&2; exit 2; fi
if [ "$action" = write ]; then
  [ "$(head -n1 "$tmp.block")" = "$begin" ] && [ "$(tail -n1 "$tmp.block")" = "$end" ] || { echo "hosts.sh: the block lacks its markers" >&2; exit 2; }
fi

[ -f "$hosts" ] || : >"$hosts"
begins=$(grep -cxF "$begin" "$hosts" || true)
ends=$(grep -cxF "$end" "$hosts" || true)
if [ "$begins" != "$ends" ] || [ "$begins" -gt 1 ]; then
  echo "error=$hosts has $begins '$begin' and $ends '$end' lines: fix the block by hand (or delete it), then rerun"
  exit 3
fi

hosts_without_block "$iface" "$hosts" >"$tmp"
[ "$action" = write ] && cat "$tmp.block" >>"$tmp"
chown --reference="$hosts" "$tmp" 2>/dev/null || true
chmod --reference="$hosts" "$tmp" 2>/dev/null || chmod 644 "$tmp"
if cmp -s "$tmp" "$hosts"; then
  echo "hosts=unchanged"
  exit 0
fi
sync "$tmp" 2>/dev/null || true
if ! mv -f "$tmp" "$hosts" 2>/dev/null; then
  cat "$tmp" >"$hosts"
fi
if [ "$action" = write ]; then echo "hosts=written"; else echo "hosts=removed"; fi
