# preshared-keys.sh — the preshared keys of a node's peers (`preshared_keys = true`), shared by probe.sh,
# doctor.sh, apply.sh and psk.sh. Function definitions only (see lib.sh).
# One file per peer entry: /etc/wireguard/IFACE.psk/NAME (folder 0700, file 0600), NAME the peer's inventory
# name — the name, not the public key, so that a key rotation keeps the pair's preshared key. A value is
# read by awk or wg only, never into a shell variable (xtrace would print it), and never printed here.

# psk_fill KEYFILE PSKDIR [LEN] — config text on stdin to stdout with its secrets filled in, here on the host: the
# PrivateKey marker from KEYFILE, and the PresharedKey line of each `# NAME` / `[Peer]` section (the marker,
# or an older value) from PSKDIR/NAME. Exit 3: the private key cannot be read; exit 4: a PresharedKey marker
# whose file is missing or holds no key. (No interval expressions: mawk does not know them.)
# With LEN, stdin is a rendered config as wgfleet sent it, checked here as it is filled, in this one program:
# exit 5: it is not LEN bytes (cut short, or more came); exit 6: its first line is not the wgfleet marker;
# exit 7: it holds not exactly one PrivateKey marker. The caller discards the output on any exit but 0.
# (LC_ALL=C: awk counts bytes, not characters, in any locale.)
psk_fill() {
  local marker
  set_marker
  LC_ALL=C awk -v keyfile="$1" -v dir="$2" -v len="${3:-}" -v marker="$marker" '
    BEGIN { token = ""; for (i = 0; i < 43; i++) token = token "[A-Za-z0-9+/]"; token = "^" token "=$"; rc = 0 }
    function readkey(file,   v, ok) { v = ""; ok = (getline v < file) > 0; close(file); gsub(/[[:space:]]/, "", v); return (ok && v ~ token) ? v : "" }
    { total += length($0) + 1 }
    NR == 1 { marked = $0 == marker }
    $0 == "PrivateKey = @WGFLEET_PRIVATE_KEY@" {
      if (++keys > 1 && len != "") { rc = 7; exit }
      k = readkey(keyfile); if (k == "") { rc = 3; exit }
      print "PrivateKey = " k; next
    }
    /^[ \t]*\[/ { section = (tolower($0) ~ /^[ \t]*\[peer\][ \t]*$/ && prev ~ /^# [a-z0-9][a-z0-9-]*$/) ? substr(prev, 3) : "" }
    { squeezed = tolower($0); gsub(/[[:space:]]/, "", squeezed) }
    squeezed ~ /^presharedkey=/ {
      v = section == "" ? "" : readkey(dir "/" section)
      if (v != "") { print "PresharedKey = " v; prev = $0; next }
      if ($0 == "PresharedKey = @WGFLEET_PRESHARED_KEY@") { rc = 4; exit }
    }
    { print; prev = $0 }
    END {
      if (rc) exit rc
      # A last line without its newline counts one byte more than it is: a payload cut just before its
      # final newline passes, and is written whole.
      if (len != "" && total != len + 0) exit 5
      if (len != "" && !marked) exit 6
      if (len != "" && keys != 1) exit 7
    }'
}

# psk_report IFACE — one line per preshared key file of IFACE: `psk=NAME:DIGEST:CONF:LIVE`.
#   DIGEST  the first 16 hex digits of the file's SHA-256 (`invalid` when it holds no key): wgfleet compares
#           the two sides of a pair by it, never by the value
#   CONF    IFACE.conf's PresharedKey in NAME's section is that value: same | differs | none
#   LIVE    the running interface's preshared key for that section's public key is: same | differs | none |
#           down (no interface)
# At most 4096 files; a file whose name is not a node name is left out.
psk_report() {
  local dir=/etc/wireguard/$1.psk conf=/etc/wireguard/$1.conf state=down file
  local -a names=()
  [ -d "$dir" ] || return 0
  ip link show dev "$1" >/dev/null 2>&1 && state=up
  for file in "$dir"/*; do
    [ -f "$file" ] && [[ ${file##*/} =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] && names+=("${file##*/}")
    [ ${#names[@]} -lt 4096 ] || break
  done
  [ ${#names[@]} -gt 0 ] || return 0
  # One sha256sum for every file (names are labels: no quoting in its output).
  (cd "$dir" && sha256sum -- "${names[@]}") |
    awk -v dir="$dir" -v conf="$conf" -v state="$state" -v live=<(if [ "$state" = up ]; then wg show "$1" preshared-keys 2>/dev/null; fi) '
      BEGIN {
        token = ""; for (i = 0; i < 43; i++) token = token "[A-Za-z0-9+/]"; token = "^" token "=$"
        while ((getline line < conf) > 0) {
          if (line ~ /^[ \t]*\[/) section = (tolower(line) ~ /^[ \t]*\[peer\][ \t]*$/ && prev ~ /^# [a-z0-9][a-z0-9-]*$/) ? substr(prev, 3) : ""
          else if (section != "") {
            squeezed = line; gsub(/[[:space:]]/, "", squeezed); lower = tolower(squeezed)
            if (lower ~ /^publickey=/) pub[section] = substr(squeezed, 11)
            if (lower ~ /^presharedkey=/) inconf[section] = substr(squeezed, 14)
          }
          prev = line
        }
        close(conf)
        while ((getline line < live) > 0) { split(line, f, "\t"); running[f[1]] = f[2] }
      }
      function readkey(file,   v, ok) { v = ""; ok = (getline v < file) > 0; close(file); gsub(/[[:space:]]/, "", v); return (ok && v ~ token) ? v : "" }
      {
        name = $2; sub(/^\*/, "", name)
        v = readkey(dir "/" name)
        c = !(name in inconf) ? "none" : inconf[name] == v ? "same" : "differs"
        if (state != "up") l = "down"
        else if (!(name in pub) || !(pub[name] in running) || running[pub[name]] == "(none)") l = "none"
        else l = running[pub[name]] == v ? "same" : "differs"
        print "psk=" name ":" (v == "" ? "invalid" : substr($1, 1, 16)) ":" c ":" l
      }'
}
