# lib.sh — shell functions every host script shares. Scripts travel to a host through stdin one at a time
# (there is no file there to `source`), so src/remote/scripts.ts puts this file in front of each script
# when it loads it.
# Function definitions only: bash traces none of them, so an inherited xtrace (SHELLOPTS=xtrace) has
# nothing to print before each script's own first command, `set +xv`.

# set_marker — sets marker to the first line of every config wgfleet writes (src/plan/model.ts's
# MANAGED_MARKER; a test keeps the two equal). The one place scripts spell it; a function, not a variable,
# since this file only defines functions.
set_marker() { marker='# Managed by wgfleet. Local changes are overwritten.'; }

# say KEY VALUE — one `key=value` line of output.
say() { printf '%s=%s\n' "$1" "$2"; }

# has TOOL — TOOL is on PATH.
has() { command -v "$1" >/dev/null 2>&1; }

# unit_states UNIT — sets unit_enabled and unit_active to what `systemctl is-enabled` and `is-active` print
# for UNIT (empty when systemctl cannot say), with one systemctl: `show` gives both.
unit_states() {
  local name value
  unit_enabled= unit_active=
  while IFS='=' read -r name value; do
    case $name in UnitFileState) unit_enabled=$value ;; ActiveState) unit_active=$value ;; esac
  done < <(systemctl show -p UnitFileState -p ActiveState "$1" 2>/dev/null)
}

# mask_secrets [KEYFILE] — copies config text (or a tool's output that may echo it) from stdin to stdout
# with every secret masked, here on the host. The one masking routine of every script:
# - a PrivateKey or PresharedKey line, in any spelling wg and wg-quick accept (any case, blanks anywhere,
#   even inside the name: `Preshared Key = …`), becomes the fixed marker line wgfleet renders;
# - any other line that sets one (commented out, after another setting, inside a PostUp) is hidden;
# - a line holding KEYFILE's key (the private key) is hidden, whatever else it says;
# - any other key-shaped token (43 base64 characters and `=`, as every WireGuard key is written) is
#   replaced, except the one key of a PublicKey line;
# - a line starting with `--` is hidden (it could end the output block it is printed in).
# The private key is read by awk itself: never into a shell variable, which xtrace would print.
# No awk interval expressions ({43}): mawk, Debian's awk, does not know them.
mask_secrets() {
  awk -v keyfile="${1:-}" '
    BEGIN {
      token = ""
      for (i = 0; i < 43; i++) token = token "[A-Za-z0-9+/]"
      token = token "="
      secret = ""
      if (keyfile != "" && (getline secret < keyfile) > 0) gsub(/[[:space:]]/, "", secret)
      if (secret !~ ("^" token "$")) secret = ""
    }
    {
      line = $0
      squeezed = tolower(line)
      gsub(/[[:space:]]/, "", squeezed)
      if (squeezed ~ /^privatekey=/) { print "PrivateKey = @WGFLEET_PRIVATE_KEY@"; next }
      if (squeezed ~ /^presharedkey=/) { print "PresharedKey = @WGFLEET_PRESHARED_KEY@"; next }
      if (index(squeezed, "privatekey=") || index(squeezed, "presharedkey=")) { print "# (a line setting a secret key, hidden)"; next }
      if (secret != "" && index(line, secret)) { print "# (line hidden: it holds the private key)"; next }
      if (substr(line, 1, 2) == "--") { print "# (line starting with -- hidden)"; next }
      kept = ""
      if (squeezed ~ /^publickey=/ && match(line, token)) {
        kept = substr(line, 1, RSTART + RLENGTH - 1)
        line = substr(line, RSTART + RLENGTH)
      }
      gsub(token, "(hidden key)", line)
      print kept line
    }'
}

# peer_lines IFACE [own] — the peer lines of `wg show IFACE dump`: its first line (the interface's own, which
# holds the private key) dropped, and the preshared-key column showing only whether one is set. With `own`,
# the first line printed is `own=PUBLIC_KEY LISTEN_PORT`, the interface's own from that dropped line (one
# `wg show` for all of it). Fails when `wg show` does (pipefail), so a failure is not mistaken for "no peers".
peer_lines() {
  (
    set -o pipefail
    wg show "$1" dump 2>/dev/null | awk -F'\t' -v own="${2:-}" 'BEGIN { OFS = "\t" } NR == 1 { if (own == "own") print "own=" $2 " " $3; next } { if ($2 != "(none)") $2 = "(hidden)"; print }'
  )
}

# hosts_block IFACE FILE — wgfleet's block of FILE (/etc/hosts) for IFACE, marker lines included: from
# `# BEGIN wgfleet IFACE` to `# END wgfleet IFACE` (to the end of the file when the end marker is missing).
hosts_block() {
  awk -v b="# BEGIN wgfleet $1" -v e="# END wgfleet $1" '$0 == b { on = 1 } on { print } on && $0 == e { on = 0 }' "$2" 2>/dev/null
}

# hosts_block_digest IFACE — `none` when /etc/hosts has no block for IFACE, else the SHA-256 of the block
# (wgfleet compares it with the planned block's: the names themselves need not travel back).
# Whether there is one: every probe asks, and most hosts have none in a small file, which bash reads
# itself (a grep cost a host 1.4 ms per probe in the lab). A file of 8 KiB or more goes to grep: bash before
# 5.1 reads byte by byte.
hosts_block_digest() {
  local text='' begin="# BEGIN wgfleet $1"
  if [ -f /etc/hosts ] && [ -r /etc/hosts ]; then IFS= read -r -N 8192 text </etc/hosts 2>/dev/null || :; fi
  if [ ${#text} -ge 8192 ]; then
    grep -qxF "$begin" /etc/hosts 2>/dev/null || { echo none; return 0; }
  elif [[ $'\n'$text$'\n' != *$'\n'"$begin"$'\n'* ]]; then echo none; return 0
  fi
  if has sha256sum; then hosts_block "$1" /etc/hosts | sha256sum | cut -d' ' -f1
  else echo unknown; fi
}

# hosts_without_block IFACE FILE — FILE without wgfleet's block for IFACE (every other line as it was).
hosts_without_block() {
  awk -v b="# BEGIN wgfleet $1" -v e="# END wgfleet $1" '$0 == b { on = 1; next } on && $0 == e { on = 0; next } !on { print }' "$2"
}
