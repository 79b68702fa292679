# psk.sh MODE IFACE [ARG...] — the preshared keys of a node's peers (`preshared_keys = true`; docs/design.md,
# "Preshared keys"). A key goes from the host that generates it to the other side of its pair through
# wgfleet's memory only: `generate` prints new values on stdout (the only place one is ever printed, masked
# in wgfleet's transcript), `store` reads them from stdin. A value is never a command-line argument.
#   generate IFACE COUNT   COUNT new keys (`wg genpsk`), a line `key=VALUE` each; nothing is written here
#   store    IFACE COUNT   stdin: COUNT lines `NAME PUBKEY VALUE` (PUBKEY `-`: no entry to update live),
#                          then `end`; the whole list is checked before anything changes. Each value becomes
#                          IFACE.psk/NAME (0600, temp file + rename), the running interface's entry for PUBKEY
#                          takes it at once (`wg set IFACE peer PUBKEY preshared-key FILE`: only the next
#                          handshake uses it), and IFACE.conf's PresharedKey lines are filled in again from
#                          the files. Then prints the report of every file (psk_report).
#   delete   IFACE NAME... removes those files (their entries are gone from the config already)
set +xv
set -eu
mode=$1 iface=$2
shift 2
dir=/etc/wireguard/$iface.psk
conf=/etc/wireguard/$iface.conf
keyfile=/etc/wireguard/$iface.key
set_marker
tmp=
trap 'rm -rf -- ${tmp:+"$tmp"}' EXIT

fail() { echo "error=$1"; exit "${2:-50}"; }
is_name() { [[ $1 =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]]; }
is_count() { [[ $1 =~ ^[0-9]{1,4}$ ]] && [ "$1" -le 4096 ]; }

generate() {
  is_count "${1:-}" || fail "bad count"
  has wg || fail "wg is not installed"
  local i
  for ((i = 0; i < $1; i++)); do
    printf 'key='
    wg genpsk || fail "wg genpsk failed"
  done
}

# The config's PresharedKey lines, from the files (the private key line is left as it is).
refill_config() {
  [ -f "$conf" ] && [ "$(head -n1 "$conf")" = "$marker" ] || return 0
  local new
  new=$(umask 077 && mktemp /etc/wireguard/.wgfleet.XXXXXX) || fail "cannot create a temporary file in /etc/wireguard"
  psk_fill "$keyfile" "$dir" <"$conf" >"$new" || { rm -f "$new"; fail "could not fill the preshared keys into $conf"; }
  chown root:root "$new"
  chmod 0600 "$new"
  sync "$new" 2>/dev/null || true
  mv -f "$new" "$conf" || { rm -f "$new"; fail "could not move the new config into place"; }
  echo "config=refilled"
}

store() {
  is_count "${1:-}" || fail "bad count"
  [ -d /etc/wireguard ] || fail "/etc/wireguard is missing: run wgfleet init first"
  (umask 077 && mkdir -p "$dir") || fail "cannot create $dir"
  chown root:root "$dir"
  chmod 0700 "$dir"
  tmp=$(umask 077 && mktemp -d "$dir/.new.XXXXXX") || fail "cannot create a temporary folder in $dir"
  # awk reads and checks the list and writes each value to its temp file (umask 077); only names and public
  # keys come back. A list cut short or malformed changes nothing.
  local list name pub live=
  list=$(umask 077 && awk -v count="$1" -v out="$tmp" '
    BEGIN { token = ""; for (i = 0; i < 43; i++) token = token "[A-Za-z0-9+/]"; token = "^" token "=$" }
    n == count { if ($0 == "end") done = 1; exit }
    {
      if (NF != 3 || length($1) > 63 || $1 !~ /^[a-z0-9][a-z0-9-]*$/ || ($2 != "-" && $2 !~ token) || $3 !~ token || ($1 in seen)) exit
      seen[$1] = 1; file = out "/" $1; print $3 > file; close(file); names[++n] = $1 " " $2
    }
    END { if (!done) exit 1; for (i = 1; i <= n; i++) print names[i] }') || fail "the list of preshared keys arrived incomplete or malformed: nothing changed" 51
  if ip link show dev "$iface" >/dev/null 2>&1; then live=$(wg show "$iface" peers 2>/dev/null || true); fi
  while read -r name pub; do
    [ -n "$name" ] || continue
    chown root:root "$tmp/$name"
    chmod 0600 "$tmp/$name"
    mv -f "$tmp/$name" "$dir/$name" || fail "cannot write $dir/$name"
    if [ "$pub" != - ] && printf '%s\n' "$live" | grep -qxF -- "$pub"; then
      wg set "$iface" peer "$pub" preshared-key "$dir/$name" || fail "wg set $iface peer (preshared-key) failed for $name"
    fi
    echo "stored=$name"
  done <<<"$list"
  sync "$dir" 2>/dev/null || true
  refill_config
  psk_report "$iface"
}

delete() {
  local name
  for name in "$@"; do is_name "$name" || fail "bad name"; done
  for name in "$@"; do
    if [ -e "$dir/$name" ]; then rm -f -- "$dir/$name"; echo "deleted=$name"; fi
  done
}

case $mode in
  generate) generate "$@" ;;
  store) store "$@" ;;
  delete) delete "$@" ;;
  *) fail "unknown mode $mode" ;;
esac
