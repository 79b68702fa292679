# firewall_listings — print the raw firewall listings wgfleet's firewall verdict (src/firewall) judges.
# Shared by probe.sh and doctor.sh (src/remote/scripts.ts puts this file, after lib.sh, in front of them),
# so init and doctor read the same thing. Read-only. Function definitions only (see lib.sh).
# Prints `ufw=absent|inactive|active` (and, active: `ufw.forward_policy=` and the `--- ufw` block of
# `ufw status verbose`), `firewalld=absent|stopped|running` (and, running: `firewalld.default_zone=`, the
# zones and policies, runtime and permanent, and the definitions of the services the active zones, the
# default zone and the policies use). Blocks are `--- NAME` … `--- end NAME`.
firewall_listings() {
  local ufw_status='' ufw_state=absent fwd_state=absent name n=0 services=''
  if has ufw; then
    if ufw_status=$(LC_ALL=C ufw status verbose 2>/dev/null) && printf '%s\n' "$ufw_status" | grep -q '^Status: active'; then
      ufw_state=active
    else
      ufw_state=inactive
    fi
  fi
  printf 'ufw=%s\n' "$ufw_state"
  if [ "$ufw_state" = active ]; then
    printf 'ufw.forward_policy=%s\n' "$(sed -n 's/^DEFAULT_FORWARD_POLICY="\{0,1\}\([A-Z]*\)"\{0,1\}[[:space:]]*$/\1/p' /etc/default/ufw 2>/dev/null | tail -n 1)"
    echo '--- ufw'
    printf '%s\n' "$ufw_status"
    echo '--- end ufw'
  fi

  if has firewall-cmd; then
    if firewall-cmd --state >/dev/null 2>&1; then fwd_state=running; else fwd_state=stopped; fi
  fi
  printf 'firewalld=%s\n' "$fwd_state"
  [ "$fwd_state" = running ] || return 0
  local zones_rt zones_perm policies_rt='' policies_perm='' dz
  dz=$(firewall-cmd --get-default-zone 2>/dev/null)
  printf 'firewalld.default_zone=%s\n' "$dz"
  zones_rt=$(firewall-cmd --list-all-zones 2>/dev/null)
  zones_perm=$(firewall-cmd --permanent --list-all-zones 2>/dev/null)
  printf -- '--- firewalld zones\n%s\n--- end firewalld zones\n' "$zones_rt"
  printf -- '--- firewalld permanent zones\n%s\n--- end firewalld permanent zones\n' "$zones_perm"
  # Policies exist from firewalld 0.9 on: no block when the listing fails.
  if policies_rt=$(firewall-cmd --list-all-policies 2>/dev/null); then
    printf -- '--- firewalld policies\n%s\n--- end firewalld policies\n' "$policies_rt"
  fi
  if policies_perm=$(firewall-cmd --permanent --list-all-policies 2>/dev/null); then
    printf -- '--- firewalld permanent policies\n%s\n--- end firewalld permanent policies\n' "$policies_perm"
  fi
  # The services of the zones that take traffic (active, or the default one) and of the policies, with the
  # services they include: their ports come from firewalld's own definitions.
  local queue seen=' ' info inc
  services=$(printf '%s\n%s\n%s\n%s\n' "$zones_rt" "$zones_perm" "$policies_rt" "$policies_perm" | awk -v dz="$dz" '
    /^[^ \t]/ { active = ($0 ~ /[(, ]active[,)]/ || $1 == dz); next }
    /^  (interfaces|sources): [^ ]/ { active = 1 }
    /^  services: / && active { for (i = 2; i <= NF; i++) print $i }
    /^\t/ && /service name="/ && active { s = $0; sub(/.*service name="/, "", s); sub(/".*/, "", s); print s }
  ' | sort -u)
  echo '--- firewalld services'
  queue=$services
  while [ -n "$queue" ] && [ "$n" -lt 32 ]; do
    name=${queue%%$'\n'*}
    if [ "$name" = "$queue" ]; then queue=''; else queue=${queue#*$'\n'}; fi
    case $name in '' | -* | *[!A-Za-z0-9_.+-]*) continue ;; esac
    case $seen in *" $name "*) continue ;; esac
    seen="$seen$name "
    n=$((n + 1))
    info=$(firewall-cmd --info-service="$name" 2>/dev/null) || continue
    printf '%s\n' "$info"
    # Included services (firewalld >= 1.0) are listed too.
    inc=$(printf '%s\n' "$info" | sed -n 's/^  includes: //p' | tr ' ' '\n' | sed '/^$/d')
    [ -z "$inc" ] || queue=$(printf '%s\n%s' "$queue" "$inc" | sed '/^$/d')
  done
  echo '--- end firewalld services'
}

# route_listing — the main routing table's unicast routes as `route=FAMILY DEST IFACE` lines (FAMILY 4 or
# 6; DEST `default` or a prefix), at most 256 per family: the firewall verdict judges a subnet node's
# forwarding out of the interface each subnet is routed through (the longest match, as the kernel picks).
route_listing() {
  local family
  for family in 4 6; do
    ip -"$family" -o route show table main 2>/dev/null | awk -v f="$family" '
      {
        i = 1
        if ($1 ~ /^(unicast)$/) i = 2
        else if ($1 ~ /^(blackhole|unreachable|prohibit|throw|local|broadcast|multicast|anycast|nat)$/) next
        dest = $i; dev = ""
        for (j = i + 1; j < NF; j++) if ($j == "dev") { dev = $(j + 1); break }
        if (dev != "" && n < 256) { print "route=" f " " dest " " dev; n++ }
      }'
  done
}
