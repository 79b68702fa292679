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

step "wgfleet init -i $INV   (installs WireGuard, keys, configs, firewall, wg-quick@wg0; verifies handshakes)"
"$LAB" op -- node bin/run.js init -i "$INV"

step "wgfleet init again: a converged fleet changes nothing"
"$LAB" op -- node bin/run.js init -i "$INV"

step "wgfleet status -i $INV"
"$LAB" op -- node bin/run.js status -i "$INV"

cat <<EOF

== try next
  $LAB op -- ssh -F test/lab/.run/ssh_config node-a        # a root shell on node-a, from the operator
  $LAB op -- ssh -F test/lab/.run/ssh_config node-d        # through node-c (ProxyJump)
  $LAB exec node-a -- wg show                               # WireGuard as node-a sees it
  $LAB op -- node bin/run.js status -i $INV --format prometheus
  $LAB op -- node bin/run.js add-node node-e --host 203.0.113.5 -i $INV
  $LAB op -- node bin/run.js remove-node node-e -i $INV
  $LAB fault node-c cut; $LAB fault node-c heal            # break and mend a link
  $LAB status
  $LAB down                                                 # remove the lab
EOF
