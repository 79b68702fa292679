/**
 * Fake `wg`, `ip`, `date`, `systemctl`, `ufw`, `firewall-cmd` and `ping` for running src/remote/doctor.sh
 * locally, plus a folder standing in for / (WGFLEET_DOCTOR_ROOT: the config and key files, /proc's
 * ip_forward, sysctl files, /run/systemd/system). The fakes answer only the read-only calls doctor.sh
 * makes and log every call. `wg show wg0 dump` prints a real-looking interface line first — with
 * PRIVATE_KEY — as wg does, and a peer with a preshared key; the config file holds PRIVATE_KEY too.
 * Env: FAKE_LOG (call log), FAKE_LINK (up|down|absent), FAKE_WG_FAIL, FAKE_UNIT_ENABLED, FAKE_UNIT_ACTIVE,
 * FAKE_UFW (active|inactive), FAKE_FIREWALLD (running|stopped), FAKE_PING_LIMIT (largest -s that gets an
 * answer; larger ones fail with "message too long, mtu=…"), FAKE_PING_DEAD (a host that never answers).
 */
import {execFileSync} from 'node:child_process'
import {chmodSync, mkdirSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {ALLOW_HOST_IPV6, policyListing, publicZone, STOCK_SERVICES, zoneListing} from '../../fixtures/firewall.js'

export const PRIVATE_KEY = 'cHJpdmF0ZXByaXZhdGVwcml2YXRlcHJpdmF0ZXByaXY='
export const PRESHARED_KEY = 'cHJlc2hhcmVkcHJlc2hhcmVkcHJlc2hhcmVkcHJlc2g='
export const PUBLIC_KEY = 'e7haZgbEOshktuz+iJTZdPLydJP0AE0kMdffeafokig='
export const PEER_B = '1IwmEcmejcRhDJGSJdkx8mzNtoDOGuh1/sHRT8f1jH0='
export const PEER_C = '/Xl9WfhRIIVm6MV9C83TXQgy5oiNF9YlMuQSIWKPWDk='
export const NODE_CLOCK = 1_600_000_000

export const which = (tool: string) => execFileSync('sh', ['-c', `command -v ${tool}`], {encoding: 'utf8'}).trim()
export const BASH = which('bash')

/** The config file as wg-quick reads it: the real private key inside (and, carelessly, in a comment). */
export const CONFIG = `# Managed by wgfleet. Local changes are overwritten.
[Interface]
Address = 10.0.0.1/24
ListenPort = 51820
PrivateKey = ${PRIVATE_KEY}
# old key, kept by hand: ${PRIVATE_KEY}

# node-b
[Peer]
PublicKey = ${PEER_B}
PresharedKey = ${PRESHARED_KEY}
Endpoint = 203.0.113.2:51820
AllowedIPs = 10.0.0.2/32
PersistentKeepalive = 25
--- end config
end=ok

# node-c
[Peer]
PublicKey = ${PEER_C}
AllowedIPs = 10.0.0.3/32, 10.0.0.4/32
PersistentKeepalive = 25
`

const FAKE_WG = `#!${BASH}
echo "wg $*" >> "$FAKE_LOG"
[ -n "\${FAKE_WG_FAIL:-}" ] && [ "$1" = show ] && { echo "Unable to access interface: Operation not permitted" >&2; exit 1; }
case "$*" in
  "show wg0 dump")
    printf '%s\\t%s\\t%s\\t%s\\n' '${PRIVATE_KEY}' '${PUBLIC_KEY}' 51820 off
    printf '%s\\t%s\\t203.0.113.2:51820\\t10.0.0.2/32\\t%s\\t1234\\t5678\\t25\\n' '${PEER_B}' '${PRESHARED_KEY}' ${NODE_CLOCK - 12}
    printf '%s\\t(none)\\t198.51.100.1:40000\\t10.0.0.3/32,10.0.0.4/32\\t%s\\t10\\t92\\t25\\n' '${PEER_C}' ${NODE_CLOCK - 30}
    ;;
  "show wg0 listen-port") echo 51820 ;;
  "show wg0 public-key") echo '${PUBLIC_KEY}' ;;
  "show wg0 private-key") echo '${PRIVATE_KEY}' ;;
  pubkey) read -r k; [ "$k" = '${PRIVATE_KEY}' ] && echo '${PUBLIC_KEY}' || { echo "fake wg: bad key" >&2; exit 1; } ;;
  *) echo "fake wg: unexpected: $*" >&2; exit 2 ;;
esac
`

const FAKE_IP = `#!${BASH}
echo "ip $*" >> "$FAKE_LOG"
link=\${FAKE_LINK:-up}
case "$*" in
  "-o link show dev wg0")
    case $link in
      up) echo '7: wg0: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1420 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/none' ;;
      down) echo '7: wg0: <POINTOPOINT,NOARP> mtu 1420 qdisc noop state DOWN mode DEFAULT group default qlen 1000\\    link/none' ;;
      absent) echo 'Device "wg0" does not exist.' >&2; exit 1 ;;
    esac ;;
  "-4 route show default") echo 'default via 203.0.113.254 dev eth0 onlink' ;;
  "-o -4 addr show dev wg0")
    [ "$link" = absent ] && exit 1
    echo '7: wg0    inet 10.0.0.1/24 scope global wg0\\       valid_lft forever preferred_lft forever' ;;
  *) exit 1 ;;
esac
`

const FAKE_DATE = `#!${BASH}
[ "$1" = "+%s" ] && { echo ${NODE_CLOCK}; exit 0; }
exit 1
`

const FAKE_SYSTEMCTL = `#!${BASH}
echo "systemctl $*" >> "$FAKE_LOG"
case "$*" in
  "is-enabled wg-quick@wg0") v=\${FAKE_UNIT_ENABLED:-enabled}; echo "$v"; [ "$v" = enabled ] ;;
  "is-active wg-quick@wg0") v=\${FAKE_UNIT_ACTIVE:-active}; echo "$v"; [ "$v" = active ] ;;
  *) echo "fake systemctl: unexpected: $*" >&2; exit 2 ;;
esac
`

const FAKE_UFW = `#!${BASH}
echo "ufw $*" >> "$FAKE_LOG"
[ "$*" = "status verbose" ] || { echo "fake ufw: unexpected: $*" >&2; exit 2; }
if [ "\${FAKE_UFW:-active}" != active ]; then echo 'Status: inactive'; exit 0; fi
cat <<'OUT'
Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), deny (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
22/tcp                     ALLOW IN    Anywhere
51820/udp                  ALLOW IN    Anywhere                   # wgfleet
22/tcp (v6)                ALLOW IN    Anywhere (v6)
51820/udp (v6)             ALLOW IN    Anywhere (v6)              # wgfleet

Anywhere on wg0            ALLOW FWD   Anywhere on wg0            # wgfleet
Anywhere (v6) on wg0       ALLOW FWD   Anywhere (v6) on wg0       # wgfleet
OUT
`

/** The runtime: wg0 in the trusted zone, the WireGuard port open in public; the permanent configuration lacks the port. */
const RUNTIME_ZONES = [publicZone({interfaces: ['eth0'], ports: ['51820/udp']}), {name: 'trusted', target: 'ACCEPT', interfaces: ['wg0']}].flatMap(zoneListing).join('\n')
const PERMANENT_ZONES = [publicZone(), {name: 'trusted', target: 'ACCEPT'}].flatMap(zoneListing).join('\n')

const FAKE_FIREWALL_CMD = `#!${BASH}
echo "firewall-cmd $*" >> "$FAKE_LOG"
running=\${FAKE_FIREWALLD:-running}
case "$*" in
  --state) [ "$running" = running ] && { echo running; exit 0; }; echo 'not running'; exit 252 ;;
  --get-default-zone) echo public ;;
  --list-all-zones) cat <<'OUT'
${RUNTIME_ZONES}
OUT
  ;;
  "--permanent --list-all-zones") cat <<'OUT'
${PERMANENT_ZONES}
OUT
  ;;
  --list-all-policies|"--permanent --list-all-policies") cat <<'OUT'
${policyListing(ALLOW_HOST_IPV6).join('\n')}
OUT
  ;;
  --info-service=ssh) printf '%s\\n' ${STOCK_SERVICES.ssh!.map((l) => `'${l}'`).join(' ')} ;;
  --info-service=dhcpv6-client) printf '%s\\n' ${STOCK_SERVICES['dhcpv6-client']!.map((l) => `'${l}'`).join(' ')} ;;
  *) echo "fake firewall-cmd: unexpected: $*" >&2; exit 2 ;;
esac
`

const FAKE_PING = `#!${BASH}
echo "ping $*" >> "$FAKE_LOG"
size=56 host=
while [ $# -gt 0 ]; do
  case $1 in
    -s) size=$2; shift 2 ;;
    -M|-c|-W) shift 2 ;;
    -*) shift ;;
    *) host=$1; shift ;;
  esac
done
[ "$host" = "\${FAKE_PING_DEAD:-}" ] && { echo "1 packets transmitted, 0 received, 100% packet loss"; exit 1; }
limit=\${FAKE_PING_LIMIT:-65000}
if [ "$size" -gt "$limit" ]; then
  echo "ping: local error: message too long, mtu=$((limit + 28))" >&2
  echo "1 packets transmitted, 0 received, +1 errors, 100% packet loss"
  exit 1
fi
echo "64 bytes from $host: icmp_seq=1 ttl=64 time=0.1 ms"
`

/**
 * A bin folder with the fakes, and the few real tools doctor.sh needs linked beside them, so PATH can be
 * this folder alone (a real `wg`, `ufw` or `ping` on this machine is never reached); and a root folder.
 */
export function makeFakeHost(dir: string): {bin: string; root: string} {
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  const fakes = [
    ['wg', FAKE_WG],
    ['ip', FAKE_IP],
    ['date', FAKE_DATE],
    ['systemctl', FAKE_SYSTEMCTL],
    ['ufw', FAKE_UFW],
    ['firewall-cmd', FAKE_FIREWALL_CMD],
    ['ping', FAKE_PING],
  ] as const
  for (const [name, text] of fakes) {
    writeFileSync(join(bin, name), text)
    chmodSync(join(bin, name), 0o755)
  }
  for (const tool of ['tail', 'grep', 'cat', 'sed', 'head', 'tr', 'awk', 'sort']) symlinkSync(which(tool), join(bin, tool))

  const root = join(dir, 'root')
  mkdirSync(join(root, 'etc/wireguard'), {recursive: true, mode: 0o700})
  writeFileSync(join(root, 'etc/wireguard/wg0.conf'), CONFIG, {mode: 0o600})
  writeFileSync(join(root, 'etc/wireguard/wg0.key'), PRIVATE_KEY + '\n', {mode: 0o600})
  mkdirSync(join(root, 'proc/sys/net/ipv4'), {recursive: true})
  writeFileSync(join(root, 'proc/sys/net/ipv4/ip_forward'), '1\n')
  mkdirSync(join(root, 'etc/sysctl.d'), {recursive: true})
  writeFileSync(join(root, 'etc/sysctl.d/99-wgfleet.conf'), 'net.ipv4.ip_forward = 1\n')
  mkdirSync(join(root, 'run/systemd/system'), {recursive: true})
  return {bin, root}
}
