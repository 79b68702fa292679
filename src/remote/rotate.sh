# rotate.sh MODE IFACE [ARG...] — the host side of `wgfleet rotate-key` (docs/design.md, "Key rotation").
# Each mode does one step and is idempotent (a rotation cut off anywhere is finished by running the same
# steps again). The new private key is generated here, kept in IFACE.key.new until the rotation is
# complete, and never printed: only public keys are.
#   on the rotated node:
#     read     IFACE          report the key file's, the new key file's and the interface's public keys
#     generate IFACE          read, after creating IFACE.key.new if it is absent (never replaced)
#     switch   IFACE NEWKEY   the running interface takes the private key whose public key is NEWKEY
#     commit   IFACE NEWKEY   the config's PrivateKey and then the key file become the new key
#   on each of its peers:
#     add      IFACE NEWKEY ENDPOINT KEEPALIVE PSK    NEWKEY as an extra peer entry, without AllowedIPs; PSK
#                                                     `-`, or the rotated node's name: the entry takes the
#                                                     pair's preshared key from IFACE.psk/PSK (never printed)
#     move     IFACE NEWKEY OLDKEY ALLOWEDIPS         in ONE `wg set`: AllowedIPs to NEWKEY, OLDKEY removed
# ENDPOINT is host:port or `-`; KEEPALIVE seconds (0 = off); ALLOWEDIPS comma-separated. wgfleet validated
# every value before sending it.
set +xv
set -eu
mode=$1 iface=$2
keyfile=/etc/wireguard/$iface.key
newfile=/etc/wireguard/$iface.key.new
conf=/etc/wireguard/$iface.conf
tmp=
trap 'rm -f -- ${tmp:+"$tmp"}' EXIT

fail() { echo "error=$1"; exit "${2:-40}"; }
# pub_of FILE — the public key of the private key in FILE ("" when absent or unreadable).
pub_of() { if [ -s "$1" ]; then wg pubkey <"$1" 2>/dev/null || true; fi; }
live_pub() { wg show "$iface" public-key 2>/dev/null || true; }

report() {
  say keyfile_pubkey "$(pub_of "$keyfile")"
  say new_pubkey "$(pub_of "$newfile")"
  say interface_pubkey "$(live_pub)"
}

# key_file_for NEWKEY — which file holds NEWKEY's private key (the new key file, or the key file once committed).
key_file_for() {
  if [ "$(pub_of "$newfile")" = "$1" ]; then echo "$newfile"
  elif [ "$(pub_of "$keyfile")" = "$1" ]; then echo "$keyfile"
  else return 1
  fi
}

case $mode in
  read) report ;;
  generate)
    [ -d /etc/wireguard ] || fail "/etc/wireguard is missing: run wgfleet init first"
    if [ ! -s "$newfile" ]; then
      tmp=$(umask 077 && mktemp /etc/wireguard/.rotate.XXXXXX) || fail "cannot create a temporary file in /etc/wireguard"
      (umask 077 && wg genkey >"$tmp") || fail "wg genkey failed"
      chown root:root "$tmp"
      chmod 0600 "$tmp"
      mv -f "$tmp" "$newfile" || fail "cannot write $newfile"
      tmp=
      echo "generated=yes"
    fi
    report
    ;;
  switch)
    new=$3
    src=$(key_file_for "$new") || fail "no key file on this host has the public key $new"
    [ "$(live_pub)" = "$new" ] || wg set "$iface" private-key "$src" || fail "wg set $iface private-key failed"
    [ "$(live_pub)" = "$new" ] || fail "$iface does not run the new key after the switch"
    echo "switched=yes"
    ;;
  commit)
    new=$3
    [ "$(live_pub)" = "$new" ] || fail "$iface does not run the new key: not committing"
    if [ "$(pub_of "$keyfile")" != "$new" ]; then
      [ "$(pub_of "$newfile")" = "$new" ] || fail "the new key file does not hold the new key"
      # The config first (wg-quick starts from its PrivateKey), then the key file: cut off in between, the
      # new key file is still there and the next run commits again.
      if [ -f "$conf" ]; then
        tmp=$(umask 077 && mktemp /etc/wireguard/.rotate.XXXXXX) || fail "cannot create a temporary file in /etc/wireguard"
        awk -v keyfile="$newfile" '
          BEGIN { if ((getline key < keyfile) <= 0) exit 3 }
          { squeezed = tolower($0); gsub(/[[:space:]]/, "", squeezed) }
          squeezed ~ /^privatekey=/ { print "PrivateKey = " key; next }
          { print }' "$conf" >"$tmp" || fail "could not fill the new key into $conf"
        chown root:root "$tmp"
        chmod 0600 "$tmp"
        sync "$tmp" 2>/dev/null || true
        mv -f "$tmp" "$conf" || fail "could not move the new config into place"
        tmp=
      fi
      mv -f "$newfile" "$keyfile" || fail "could not move the new key file into place"
      sync /etc/wireguard 2>/dev/null || true
    fi
    rm -f "$newfile"
    echo "committed=yes"
    ;;
  add)
    new=$3 endpoint=$4 keepalive=$5 psk=${6:--}
    set -- peer "$new"
    [ "$endpoint" = - ] || set -- "$@" endpoint "$endpoint"
    [ "$keepalive" = 0 ] || set -- "$@" persistent-keepalive "$keepalive"
    if [ "$psk" != - ]; then
      [[ $psk =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] || fail "bad node name"
      [ -s "/etc/wireguard/$iface.psk/$psk" ] || fail "no preshared key for $psk on this host: run wgfleet init first"
      set -- "$@" preshared-key "/etc/wireguard/$iface.psk/$psk"
    fi
    wg set "$iface" "$@" || fail "wg set $iface peer (add) failed"
    echo "added=yes"
    ;;
  move)
    new=$3 old=$4 ips=$5
    wg set "$iface" peer "$new" allowed-ips "$ips" peer "$old" remove || fail "wg set $iface peer (move) failed"
    echo "moved=yes"
    ;;
  *) fail "unknown mode $mode" ;;
esac
