// Roaming clients on the live seed fleet: `client add` prints a config and a QR code; client-1 (a lab
// container on the NAT-ed LAN, so wg-quick's routes never touch the machine) brings the config up with
// wg-quick (wireguard-go) and pings every node through its via node (node-a, the relay). The QR code
// decodes (zbarimg) to exactly the printed config; status calls the client idle while it is offline;
// `client remove` takes it out again, byte for byte. The private key is in no file wgfleet writes.
import {execFile} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {promisify} from 'node:util'
import QRCode from 'qrcode'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {modulesToPbm, qrLines, qrModules} from '../fixtures/qr-text.js'
import {INVENTORY, RUN_DIR, labExec} from './helpers.js'
import {OVERLAY, SCENARIO_NODES, variant, wgfleet} from './wgfleet.js'

const CLIENT_HOST = 'client-1'
let original: string
let printed: {stdout: string; config: string; privateKey: string; publicKey: string}
const scratch = mkdtempSync(join(tmpdir(), 'wgfleet-e2e-client-'))

/** zbarimg (Debian's zbar-tools, installed by `lab setup`) on a local image file: the decoded text. */
async function zbar(file: string): Promise<string> {
  const {stdout} = await promisify(execFile)('zbarimg', ['--raw', '-q', file], {timeout: 20_000})
  return stdout.replace(/\n$/, '') // zbarimg ends each symbol with a newline of its own
}

/** One ping per node from client-1 (bounded: 3 tries of 2 s); the nodes that never answered. */
async function unanswered(): Promise<string[]> {
  const r = await labExec(CLIENT_HOST, SCENARIO_NODES.map((n) => `ping -c 3 -W 2 -q ${OVERLAY[n]} >/dev/null 2>&1 || echo ${n}`).join('; '), {timeoutMs: 60_000})
  return r.stdout.split('\n').filter(Boolean)
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : statSync(join(dir, e.name)).size < 5_000_000 ? [join(dir, e.name)] : []))
}

beforeAll(async () => {
  // The client machine gets WireGuard from the lab's offline repository while the fleet converges.
  const [init, install] = await Promise.all([
    wgfleet(['init']),
    labExec(CLIENT_HOST, 'apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wireguard-tools wireguard-go iptables >/dev/null', {timeoutMs: 120_000}),
  ])
  expect(init.code, init.stdout + init.stderr).toBe(0)
  expect(install.code, install.stderr).toBe(0)
  original = readFileSync(INVENTORY, 'utf8')
}, 300_000)

afterAll(async () => {
  await labExec(CLIENT_HOST, 'wg-quick down wg0 >/dev/null 2>&1 || true').catch(() => undefined)
  // A failed run must not leave the client in the lab inventory or on the nodes for later files.
  if (original !== undefined && readFileSync(INVENTORY, 'utf8') !== original) {
    writeFileSync(INVENTORY, original)
    await wgfleet(['init'])
  }
}, 300_000)

describe('client add phone (via the relay, node-a)', () => {
  it('prints the config once and a QR code; the inventory gains only the client section, without the private key', async () => {
    const r = await wgfleet(['client', 'add', 'phone'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const config = /^# wgfleet client phone\.[\s\S]*?PersistentKeepalive = 25\n/m.exec(r.stdout)?.[0]
    expect(config, r.stdout).toBeDefined()
    const privateKey = /^PrivateKey = (\S+)$/m.exec(config!)![1]!
    const added = readFileSync(INVENTORY, 'utf8').slice(original.length)
    const publicKey = /^public_key = (\S+)$/m.exec(added)![1]!
    printed = {stdout: r.stdout, config: config!, privateKey, publicKey}
    expect(added).toBe(`\n[phone]\nclient = true\npublic_key = ${publicKey}\naddress = 10.0.0.5\nvia = node-a\n`)
    expect(r.stdout.split(privateKey).length - 1).toBe(1) // in the config text once (and in the QR code)
    expect(config).toMatch(/^Endpoint = 203\.0\.113\.1:51820$/m)
    expect(config).toMatch(/^AllowedIPs = 10\.0\.0\.0\/24$/m)
  })

  it('the key is nowhere else: not in stderr, the inventory, state, the transcripts or on any node', async () => {
    const files = [INVENTORY, ...filesUnder(join(RUN_DIR, '.wgfleet')), ...filesUnder(join(RUN_DIR, 'transcripts'))]
    for (const file of files) expect(readFileSync(file, 'utf8').includes(printed.privateKey), file).toBe(false)
    for (const node of SCENARIO_NODES) {
      const r = await labExec(node, `grep -rlF -- '${printed.privateKey}' /etc/wireguard /root /tmp 2>/dev/null || true`)
      expect(r.stdout.trim(), node).toBe('')
    }
  })

  it('the QR code decodes to exactly the printed config: the printed block characters, and a PNG of the same data', async () => {
    const pbm = join(scratch, 'printed.pbm')
    writeFileSync(pbm, modulesToPbm(qrModules(qrLines(printed.stdout))))
    expect(await zbar(pbm)).toBe(printed.config)
    const png = join(scratch, 'config.png')
    await QRCode.toFile(png, printed.config, {errorCorrectionLevel: 'L'})
    expect(await zbar(png)).toBe(printed.config)
  })

  it('while the client is offline, status shows it on node-a as idle and stays healthy (exit 0); doctor does not flag it', async () => {
    const r = await wgfleet(['status', '--json'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout) as {healthy: boolean; nodes: Array<{name: string; peers: Array<{name: string; state: string}>}>}
    expect(doc.healthy).toBe(true)
    expect(doc.nodes.find((n) => n.name === 'node-a')!.peers.find((p) => p.name === 'phone')?.state).toBe('idle')
    expect(doc.nodes.filter((n) => n.name !== 'node-a').flatMap((n) => n.peers.map((p) => p.name))).not.toContain('phone')
    const doctor = await wgfleet(['doctor', '--json'])
    const findings = (JSON.parse(doctor.stdout) as {findings: Array<{message: string}>}).findings
    expect(findings.filter((f) => f.message.includes('phone') || f.message.includes(printed.publicKey))).toEqual([])
  })

  it('client-1 (behind the NAT) brings the config up with wg-quick and pings every node through node-a', async () => {
    const write = await labExec(CLIENT_HOST, 'umask 077 && cat > /etc/wireguard/wg0.conf && wg-quick up wg0 2>&1', {input: printed.config})
    expect(write.code, write.stdout + write.stderr).toBe(0)
    expect(await unanswered()).toEqual([])
    const r = await wgfleet(['status', '--json'])
    const doc = JSON.parse(r.stdout) as {nodes: Array<{name: string; peers: Array<{name: string; state: string; endpoint: string | null}>}>}
    const phone = doc.nodes.find((n) => n.name === 'node-a')!.peers.find((p) => p.name === 'phone')!
    expect(phone.state).toBe('ok')
    // node-a saw the client through the router's masquerade.
    expect(phone.endpoint).toMatch(/^203\.0\.113\.3:\d+$/)
  })

  it('client list names it', async () => {
    const r = await wgfleet(['client', 'list', '--json'])
    expect(JSON.parse(r.stdout)).toEqual({clients: [{name: 'phone', address: '10.0.0.5', publicKey: printed.publicKey, via: ['node-a'], fullTunnel: false}]})
  })
})

describe('client remove phone', () => {
  it('restores the inventory byte for byte and takes the peer off node-a: the client reaches nothing any more', async () => {
    const r = await wgfleet(['client', 'remove', 'phone'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(readFileSync(INVENTORY, 'utf8')).toBe(original)
    const peers = await labExec('node-a', 'wg show wg0 peers')
    expect(peers.stdout).not.toContain(printed.publicKey)
    const ping = await labExec(CLIENT_HOST, `ping -c 2 -W 1 -q ${OVERLAY['node-b']}`, {timeoutMs: 20_000})
    expect(ping.code).not.toBe(0)
    await labExec(CLIENT_HOST, 'wg-quick down wg0 2>&1')
  })
})

describe('client add laptop --full-tunnel --output FILE', () => {
  const output = join(RUN_DIR, 'laptop.conf')

  it('writes the config 0600 (and refuses to overwrite it); client-1 sends everything through node-a, which masquerades it', async () => {
    rmSync(output, {force: true})
    const r = await wgfleet(['client', 'add', 'laptop', '--full-tunnel', '--output', output])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).not.toMatch(/PrivateKey/)
    expect(statSync(output).mode & 0o777).toBe(0o600)
    const config = readFileSync(output, 'utf8')
    expect(config).toMatch(/^AllowedIPs = 0\.0\.0\.0\/0$/m)
    const again = await wgfleet(['client', 'add', 'laptop2', '--output', output])
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/exists/)

    const up = await labExec(CLIENT_HOST, 'umask 077 && cat > /etc/wireguard/wg0.conf && wg-quick up wg0 2>&1', {input: config})
    expect(up.code, up.stdout + up.stderr).toBe(0)
    // The operator (203.0.113.100) is no node: the only way there is the tunnel, and its replies come
    // back only because node-a masqueraded the client's address (the operator has no route to the overlay).
    const route = await labExec(CLIENT_HOST, 'ip route get 203.0.113.100')
    expect(route.stdout).toMatch(/dev wg0/)
    const ping = await labExec(CLIENT_HOST, 'ping -c 3 -W 2 -q 203.0.113.100', {timeoutMs: 30_000})
    expect(ping.code, ping.stdout + ping.stderr).toBe(0)
    expect(await unanswered()).toEqual([])
  })

  it('client remove laptop: the inventory is the seed\'s again', async () => {
    await labExec(CLIENT_HOST, 'wg-quick down wg0 2>&1')
    const r = await wgfleet(['client', 'remove', 'laptop'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(readFileSync(INVENTORY, 'utf8')).toBe(original)
    rmSync(output, {force: true})
  })
})

describe('preshared_keys = true: client add tablet gets a key with its via node', () => {
  it('the printed config carries the key node-a holds for it; client-1 brings it up and pings every node; the key is on no file of this machine', async () => {
    const inventory = variant('client-psk', (t) => t.replace('keepalive = 25\n', 'keepalive = 25\npreshared_keys = true\n'))
    const init = await wgfleet(['init', '-i', inventory])
    expect(init.code, init.stdout + init.stderr).toBe(0)
    const r = await wgfleet(['client', 'add', 'tablet', '-i', inventory])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const config = /^# wgfleet client tablet\.[\s\S]*?PersistentKeepalive = 25\n/m.exec(r.stdout)?.[0]
    const psk = /^PresharedKey = (\S+)$/m.exec(config ?? '')?.[1]
    expect(psk, r.stdout).toMatch(/^[A-Za-z0-9+/]{43}=$/)
    const publicKey = /^public_key = (\S+)$/m.exec(readFileSync(inventory, 'utf8'))![1]!
    const onRelay = await labExec('node-a', `cat /etc/wireguard/wg0.psk/tablet; stat -c %a /etc/wireguard/wg0.psk/tablet; wg show wg0 preshared-keys | grep -F -- '${publicKey}'`)
    expect(onRelay.stdout).toBe(`${psk}\n600\n${publicKey}\t${psk}\n`)
    for (const file of [...filesUnder(dirname(inventory)), ...filesUnder(join(RUN_DIR, 'transcripts'))]) expect(readFileSync(file, 'utf8').includes(psk!), file).toBe(false)

    const up = await labExec(CLIENT_HOST, 'umask 077 && cat > /etc/wireguard/wg0.conf && wg-quick up wg0 2>&1', {input: config})
    expect(up.code, up.stdout + up.stderr).toBe(0)
    expect(await unanswered()).toEqual([])
    await labExec(CLIENT_HOST, 'wg-quick down wg0 2>&1')
    const removed = await wgfleet(['client', 'remove', 'tablet', '-i', inventory])
    expect(removed.code, removed.stdout + removed.stderr).toBe(0)
    expect((await labExec('node-a', 'test -e /etc/wireguard/wg0.psk/tablet && echo present || echo gone')).stdout.trim()).toBe('gone')
  }, 300_000)
})
