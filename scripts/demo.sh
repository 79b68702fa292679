#!/usr/bin/env bash
# npm run demo: wgfleet against the lab's real hosts (test/lab). Needs root (namespaces, containers).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $EUID -ne 0 ]]; then
  echo "demo: must run as root: the lab creates network namespaces and systemd-nspawn containers (sudo npm run demo)" >&2
  exit 1
fi

LAB=test/lab/lab
INV=test/lab/.run/inventory.ini
step() { printf '\n== %s\n' "$*"; }

step "machine packages for the lab"
"$LAB" setup

step "lab up (seed scenario: node-a relay + ufw, node-b firewalld + deploy, node-c/node-d behind NAT)"
"$LAB" up

if [[ ! -d node_modules ]]; then
  step "npm ci"
  npm ci --no-audit --no-fund
fi

step "build"
npm run build

step "wgfleet plan -i $INV   (in the operator namespace)"
"$LAB" op -- node bin/run.js plan -i "$INV"

has_command() { "$LAB" op -- node bin/run.js "$1" --help >/dev/null 2>&1; }

if has_command init; then
  step "wgfleet init -i $INV"
  "$LAB" op -- node bin/run.js init -i "$INV"
  if has_command status; then
    step "wgfleet status -i $INV"
    "$LAB" op -- node bin/run.js status -i "$INV"
  else
    step "wgfleet status is not there yet: skipping it"
  fi
else
  step "wgfleet init is not there yet: skipping init and status"
fi

cat <<EOF

== try next
  $LAB op -- ssh -F test/lab/.run/ssh_config node-a        # a root shell on node-a, from the operator
  $LAB op -- ssh -F test/lab/.run/ssh_config node-d        # through node-c (ProxyJump)
  $LAB exec node-a -- wg show                               # WireGuard as node-a sees it
  $LAB op -- node bin/run.js status -i $INV
  $LAB fault node-c cut; $LAB fault node-c heal            # break and mend a link
  $LAB status
  $LAB down                                                 # remove the lab
EOF
