/**
 * Fake `wg`, `ip` and `date` for running src/remote/status.sh locally (directly, or behind the
 * in-process SSH server). They answer only the read-only calls status.sh makes and log every call.
 * `wg show wg0 dump` prints a real-looking interface line first — with PRIVATE_KEY — as wg does.
 * Env: FAKE_LOG (call log), FAKE_LINK (up|down|absent), FAKE_WG_FAIL, FAKE_NO_PEERS.
 */
import {execFileSync} from 'node:child_process'
import {chmodSync, mkdirSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

export const PRIVATE_KEY = 'cHJpdmF0ZXByaXZhdGVwcml2YXRlcHJpdmF0ZXByaXY='
/** A preshared key set on one peer: a secret too, never to leave the host. */
export const PRESHARED_KEY = 'cHNrcHNrcHNrcHNrcHNrcHNrcHNrcHNrcHNrcHNrcHM='
export const PUBLIC_KEY = 'e7haZgbEOshktuz+iJTZdPLydJP0AE0kMdffeafokig='
export const PEER_B = '1IwmEcmejcRhDJGSJdkx8mzNtoDOGuh1/sHRT8f1jH0='
export const PEER_C = '/Xl9WfhRIIVm6MV9C83TXQgy5oiNF9YlMuQSIWKPWDk='
export const NODE_CLOCK = 1_600_000_000 // far from the test machine's clock on purpose

export const which = (tool: string) => execFileSync('sh', ['-c', `command -v ${tool}`], {encoding: 'utf8'}).trim()
export const BASH = which('bash')

const FAKE_WG = `#!${BASH}
echo "wg $*" >> "$FAKE_LOG"
[ -n "\${FAKE_WG_FAIL:-}" ] && { echo "Unable to access interface: Operation not permitted" >&2; exit 1; }
case "$*" in
  "show wg0 dump")
    printf '%s\\t%s\\t%s\\t%s\\n' '${PRIVATE_KEY}' '${PUBLIC_KEY}' 51820 off
    [ -n "\${FAKE_NO_PEERS:-}" ] && exit 0
    printf '%s\\t(none)\\t203.0.113.2:51820\\t10.0.0.2/32\\t%s\\t1234\\t5678\\t25\\n' '${PEER_B}' ${NODE_CLOCK - 12}
    printf '%s\\t%s\\t(none)\\t10.0.0.3/32,10.0.0.4/32\\t0\\t0\\t92\\toff\\n' '${PEER_C}' '${PRESHARED_KEY}'
    ;;
  "show wg0 listen-port") echo 51820 ;;
  "show wg0 public-key") echo '${PUBLIC_KEY}' ;;
  "show wg0 private-key") echo '${PRIVATE_KEY}' ;;
  *) echo "fake wg: unexpected: $*" >&2; exit 2 ;;
esac
`

const FAKE_IP = `#!${BASH}
echo "ip $*" >> "$FAKE_LOG"
[ "$*" = "-o link show dev wg0" ] || exit 1
case "\${FAKE_LINK:-up}" in
  up) echo '7: wg0: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1420 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/none' ;;
  down) echo '7: wg0: <POINTOPOINT,NOARP> mtu 1420 qdisc noop state DOWN mode DEFAULT group default qlen 1000\\    link/none' ;;
  absent) echo 'Device "wg0" does not exist.' >&2; exit 1 ;;
esac
`

const FAKE_DATE = `#!${BASH}
[ "$1" = "+%s" ] && { echo ${NODE_CLOCK}; exit 0; }
exit 1
`

/**
 * A bin folder with the fakes. `isolated`: also links the few tools status.sh needs, so PATH can be this
 * folder alone (a real `wg` on this machine is never reached).
 */
export function makeFakeBin(dir: string, options: {isolated: boolean}): string {
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  for (const [name, text] of [['wg', FAKE_WG], ['ip', FAKE_IP], ['date', FAKE_DATE]] as const) {
    writeFileSync(join(bin, name), text)
    chmodSync(join(bin, name), 0o755)
  }
  if (options.isolated) for (const tool of ['tail', 'grep', 'cat', 'awk']) symlinkSync(which(tool), join(bin, tool))
  return bin
}
