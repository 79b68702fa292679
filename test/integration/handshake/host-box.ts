/**
 * A throw-away host for running apply.sh and verify.sh under a real bash, with fake `wg`, `wg-quick`,
 * `systemctl`, `ip` and `ping` — without touching this machine: each run happens in private mount and
 * network namespaces (`unshare`) where /etc is an overlay on the real one (writes land in this box's
 * folder) and /run is the box's own (/run/systemd/system exists: systemd is the init). The network
 * namespace has only a loopback that is down. Files persist from one run to the next, as on a host.
 *
 * The fakes model what the handshake design depends on: `wg-quick up` records the config file it read
 * (keepalives included or not); `wg show latest-handshakes` reports each peer's handshake time, which a
 * test sets, or schedules for the Nth reading; `wg set ... remove` drops the peer and its session for good
 * (a NAT-ed peer that holds its half never initiates again); `ping ADDR` is answered when the test says so.
 * Every call is logged.
 */
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {buildStdin} from '../../../src/ssh/shell.js'

const which = (tool: string): string => spawnSync('sh', ['-c', `command -v ${tool}`], {encoding: 'utf8'}).stdout.trim()
const BASH = which('bash')

/** Real tools the scripts use; nothing else is on PATH (no real wg, ufw, firewall-cmd or ping). */
const TOOLS = ['awk', 'sed', 'grep', 'cat', 'rm', 'mv', 'cp', 'mktemp', 'chmod', 'chown', 'stat', 'head', 'tail', 'wc', 'sort', 'cut', 'tr', 'sync', 'date', 'sleep', 'ls', 'touch', 'mkdir', 'cmp']

const SETUP = `set -eu
d=$1; shift
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$d/etc.upper,workdir=$d/etc.work" /etc
mount --bind "$d/run" /run
exec env -i PATH="$d/bin:$d/tools" FAKE_STATE="$d/state" "$@"
`

const FAKE_WG = `#!${BASH}
S=$FAKE_STATE
echo "wg $*" >>"$S/log"
keys() { for f in "$S"/peer.*; do [ -e "$f" ] && echo "\${f#"$S"/peer.}"; done; }
case "$1 \${3:-} \${5:-}" in
  "show latest-handshakes ")
    n=$(( $(cat "$S/reads" 2>/dev/null || echo 0) + 1 )); echo $n >"$S/reads"
    for k in $(keys); do
      if [ -f "$S/arrive.$k" ] && [ ! -f "$S/lost.$k" ] && [ "$n" -ge "$(cat "$S/arrive.$k")" ]; then
        echo $(( $(date +%s) + 1 )) >"$S/peer.$k"; rm -f "$S/arrive.$k"
      fi
      printf '%s\\t%s\\n' "$k" "$(cat "$S/peer.$k")"
    done ;;
  "show peers ") keys ;;
  "show allowed-ips ") ;;
  "set peer remove") rm -f "$S/peer.$4"; touch "$S/lost.$4" ;;
  "set peer "*) [ -f "$S/fail-set" ] && exit 1; shift 2; echo "$*" >>"$S/set" ;;
  "syncconf "* | "addconf "*)
    n=$(ls "$S" | grep -c "^$1\\.")
    cat "$3" >"$S/$1.$n"
    [ -f "$S/fail-$1" ] && exit 1
    for k in $(sed -n 's/^PublicKey = //p' "$S/$1.$n"); do [ -f "$S/peer.$k" ] || echo 0 >"$S/peer.$k"; done ;;
  *) echo "fake wg: unexpected: $*" >&2; exit 2 ;;
esac
`

const FAKE_WG_QUICK = `#!${BASH}
S=$FAKE_STATE
echo "wg-quick $*" >>"$S/log"
file=$2; case $file in */*) ;; *) file=/etc/wireguard/$2.conf ;; esac
case $1 in
  strip)
    [ -f "$S/fail-strip" ] && exit 1
    grep -Eiv '^[[:space:]]*(#|(Address|DNS|MTU|Table|PreUp|PostUp|PreDown|PostDown|SaveConfig)[[:space:]]*=)' "$file" | cat -s ;;
  up)
    cat "$file" >"$S/up-config"
    for k in $(sed -n 's/^PublicKey = //p' "$file"); do echo 0 >"$S/peer.$k"; done
    touch "$S/active" ;;
  down) rm -f "$S/active" ;;
esac
`

const FAKE_SYSTEMCTL = `#!${BASH}
S=$FAKE_STATE
echo "systemctl $*" >>"$S/log"
[ "$1" = -q ] && shift
case $1 in
  is-enabled) [ -f "$S/enabled" ] && echo enabled || { echo disabled; exit 1; } ;;
  enable) touch "$S/enabled" ;;
  is-active) [ -f "$S/active" ] ;;
  start | restart)
    [ -f "$S/fail-start" ] && exit 1
    wg-quick up "\${2#wg-quick@}" ;;
  *) exit 1 ;;
esac
`

const FAKE_IP = `#!${BASH}
S=$FAKE_STATE
echo "ip $*" >>"$S/log"
case "$1 $2" in
  "link show") [ -f "$S/active" ] ;;
  "route show") echo "10.0.0.0/24 dev wg0" ;;
  *) exit 0 ;;
esac
`

const FAKE_PING = `#!${BASH}
S=$FAKE_STATE
addr=\${*: -1}
echo "ping $addr" >>"$S/log"
if [ -f "$S/answers.$addr" ]; then exit 0; fi
# How many pings are out at once (the most seen is kept in max-inflight).
mkdir -p "$S/inflight"; touch "$S/inflight/$$"
n=$(ls "$S/inflight" | wc -l); [ "$n" -gt "$(cat "$S/max-inflight" 2>/dev/null || echo 0)" ] && echo "$n" >"$S/max-inflight"
sleep 0.3; rm -f "$S/inflight/$$"; exit 1
`

export class HostBox {
  readonly dir = mkdtempSync(join(tmpdir(), 'wgfleet-hostbox-'))
  readonly state = join(this.dir, 'state')

  constructor() {
    for (const sub of ['etc.upper/wireguard', 'etc.work', 'run/systemd/system', 'bin', 'tools', 'state']) mkdirSync(join(this.dir, sub), {recursive: true})
    chmodSync(join(this.dir, 'etc.upper/wireguard'), 0o700)
    const fakes = {wg: FAKE_WG, 'wg-quick': FAKE_WG_QUICK, systemctl: FAKE_SYSTEMCTL, ip: FAKE_IP, ping: FAKE_PING, journalctl: `#!${BASH}\nexit 0\n`}
    for (const [name, text] of Object.entries(fakes)) {
      writeFileSync(join(this.dir, 'bin', name), text)
      chmodSync(join(this.dir, 'bin', name), 0o755)
    }
    for (const tool of TOOLS) symlinkSync(which(tool), join(this.dir, 'tools', tool))
  }

  /** Runs a host script the way RemoteShell does (`bash -s -- ARGS`, the script on stdin), inside the box. */
  run(script: string, args: string[], input?: string): {code: number | null; stdout: string; stderr: string} {
    const userns = process.getuid?.() === 0 ? [] : ['--user', '--map-root-user']
    // Cut off at the timeout with SIGKILL (unshare --fork ignores SIGTERM); --kill-child then kills the
    // namespace's first process, and with it (--pid) everything the script started: nothing lives on.
    const r = spawnSync('unshare', [...userns, '--mount', '--net', '--pid', '--fork', '--kill-child', BASH, '--norc', '-c', SETUP, 'setup', this.dir, BASH, '-s', '--', ...args], {
      input: buildStdin(script, input),
      encoding: 'utf8',
      timeout: 15_000,
      killSignal: 'SIGKILL',
    })
    if (r.error) throw r.error
    return {code: r.status, stdout: r.stdout, stderr: r.stderr}
  }

  /** A file under /etc/wireguard as the box sees it. */
  wireguardPath(name: string): string {
    return join(this.dir, 'etc.upper/wireguard', name)
  }

  writeWireguard(name: string, text: string): void {
    writeFileSync(this.wireguardPath(name), text, {mode: 0o600})
  }

  readWireguard(name: string): string | undefined {
    return existsSync(this.wireguardPath(name)) ? readFileSync(this.wireguardPath(name), 'utf8') : undefined
  }

  /** The host's clock stands still at `at` (unix seconds). */
  freezeClock(at: number): void {
    writeFileSync(join(this.dir, 'bin', 'date'), `#!${BASH}\necho ${at}\n`, {mode: 0o755})
  }

  /** A file of the fakes' state (see the header). */
  set(name: string, text = ''): void {
    writeFileSync(join(this.state, name), text)
  }

  read(name: string): string | undefined {
    return existsSync(join(this.state, name)) ? readFileSync(join(this.state, name), 'utf8') : undefined
  }

  /** Peers the fake interface holds. */
  peers(): string[] {
    return readdirSync(this.state).filter((f) => f.startsWith('peer.')).map((f) => f.slice(5))
  }

  calls(): string[] {
    return (this.read('log') ?? '').split('\n').filter(Boolean)
  }

  /** Contents the fake `wg syncconf` / `wg addconf` received, in order. */
  received(command: 'syncconf' | 'addconf'): string[] {
    return readdirSync(this.state).filter((f) => f.startsWith(`${command}.`)).sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1])).map((f) => this.read(f)!)
  }
}
