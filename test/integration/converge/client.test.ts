/**
 * client add / list / remove as whole flows, with scripted hosts (FakeHost runs the real planner's configs
 * through a model of each host): the inventory edit, the peers on the via node, the routes on the others,
 * the config printed once — and the private key nowhere else (inventory, state, what the hosts received).
 */
import {mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeEach, describe, expect, it} from 'vitest'

import {parseRenderedConfig} from '../../../src/plan/index.js'
import {addClient, generateClientKeyPair, listClients, removeClient} from '../../../src/services/client.js'
import type {FleetDependencies} from '../../../src/services/connections.js'
import {runInit} from '../../../src/services/init.js'
import {removeNode, type MembershipRequest} from '../../../src/services/membership.js'
import {FakeHost} from '../../fixtures/fake-host.js'

const KEYS: Record<string, string> = {
  'node-a': 'YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=',
  'node-b': 'YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI=',
  'node-c': 'Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2M=',
}

const INVENTORY = `[network]
cidr = 10.0.0.0/24

; the relay
[node-a]
host = 203.0.113.1
address = 10.0.0.1
relay = true

[node-b]
host = 203.0.113.2
address = 10.0.0.2

[node-c]
host = 203.0.113.3
address = 10.0.0.3
`

let dir: string
let file: string
let hosts: Record<string, FakeHost>
/** Every script and stdin the hosts were sent, as one text (what a transcript would hold). */
let sent: string[]

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wgfleet-client-'))
  file = join(dir, 'inventory.ini')
  writeFileSync(file, INVENTORY)
  hosts = Object.fromEntries(Object.entries(KEYS).map(([name, key]) => [name, new FakeHost(name, key)]))
  for (const [name, host] of Object.entries(hosts)) host.handshakesWith = Object.entries(KEYS).filter(([n]) => n !== name).map(([, k]) => k)
  sent = []
})

const request = (): MembershipRequest => ({inventory: file, concurrency: 4, verifyTimeoutSeconds: 5, silent: true, connectTimeoutSeconds: 5, acceptNewHostKeys: false})
const deps = (): FleetDependencies => ({
  openShell: async (node) => {
    const shell = hosts[node.name]!.shell()
    return {...shell, run: async (script, args = [], options = {}) => (sent.push(script, ...args, options.input ?? ''), shell.run(script, args, options))}
  },
  clock: () => 0,
})

async function init(): Promise<void> {
  const report = await runInit({inventory: file, dryRun: false, adopt: false, concurrency: 4, verifyTimeoutSeconds: 5, silent: true, connectTimeoutSeconds: 5, acceptNewHostKeys: false}, deps())
  expect(report.result).toBe('ok')
}

function peerOf(host: string, key: string) {
  const peer = parseRenderedConfig(hosts[host]!.state.config ?? '').peers.find((p) => p.PublicKey?.[0] === key)
  return peer
}

/** Every file under the inventory's folder (state included), as text. */
function everythingWritten(): string {
  const walk = (d: string): string[] => readdirSync(d, {withFileTypes: true}).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [readFileSync(join(d, e.name), 'utf8')]))
  return walk(dir).join('\n')
}

describe('client add', () => {
  it('makes WireGuard keys: base64 of 32 bytes, a fresh pair each time', () => {
    const a = generateClientKeyPair()
    const b = generateClientKeyPair()
    expect(Buffer.from(a.privateKey, 'base64')).toHaveLength(32)
    expect(Buffer.from(a.publicKey, 'base64')).toHaveLength(32)
    expect(a.privateKey).not.toBe(b.privateKey)
  })

  it('appends the client, adds it on the relay, routes it from the others, prints its config once — the key is nowhere else', async () => {
    await init()
    const result = await addClient({...request(), name: 'phone', fullTunnel: false, dns: ['10.0.0.1']}, deps())
    expect(result.report.result).toBe('ok')
    expect(result.report.command).toBe('client add')
    const {publicKey} = result.client
    expect(readFileSync(file, 'utf8')).toBe(`${INVENTORY}\n[phone]\nclient = true\npublic_key = ${publicKey}\naddress = 10.0.0.4\nvia = node-a\n`)

    // The config: the relay's key and endpoint, the overlay, keepalive 25, DNS.
    const config = parseRenderedConfig(result.config!)
    const privateKey = /^PrivateKey = (\S+)$/m.exec(result.config!)![1]!
    expect(Buffer.from(privateKey, 'base64')).toHaveLength(32)
    expect(config.interface.Address).toEqual(['10.0.0.4/32'])
    expect(config.interface.DNS).toEqual(['10.0.0.1'])
    expect(config.peers).toEqual([{PublicKey: [KEYS['node-a']], Endpoint: ['203.0.113.1:51820'], AllowedIPs: ['10.0.0.0/24'], PersistentKeepalive: ['25']}])

    // Live on the via node; a route on every other node's entry for it.
    expect(peerOf('node-a', publicKey)).toEqual({PublicKey: [publicKey], AllowedIPs: ['10.0.0.4/32']})
    expect(peerOf('node-b', KEYS['node-a']!)?.AllowedIPs).toEqual(['10.0.0.1/32', '10.0.0.4/32'])
    expect(peerOf('node-c', KEYS['node-a']!)?.AllowedIPs).toEqual(['10.0.0.1/32', '10.0.0.4/32'])
    expect(peerOf('node-b', publicKey)).toBeUndefined()
    // Never connected to a client, and its private key is in no file and went to no host.
    expect(everythingWritten()).not.toContain(privateKey)
    expect(sent.join('\n')).not.toContain(privateKey)
    expect(sent.join('\n')).toContain(publicKey)
    expect(await listClients(file)).toMatchObject([{name: 'phone', address: '10.0.0.4', via: ['node-a']}])
  })

  it('--output writes the config 0600 and returns no printout; an existing file is refused (exit 2) before anything changes', async () => {
    await init()
    const output = join(dir, 'laptop.conf')
    const result = await addClient({...request(), name: 'laptop', via: ['node-b', 'node-a'], fullTunnel: true, output}, deps())
    expect(result.config).toBeNull()
    expect(statSync(output).mode & 0o777).toBe(0o600)
    const text = readFileSync(output, 'utf8')
    expect(parseRenderedConfig(text).peers.map((p) => [p.Endpoint?.[0], p.AllowedIPs])).toEqual([['203.0.113.2:51820', ['0.0.0.0/0']], ['203.0.113.1:51820', ['10.0.0.1/32']]])
    // node-b masquerades for the full-tunnel client; node-c routes it through node-b only.
    expect(hosts['node-b']!.state.config).toMatch(/PostUp = iptables -t nat -A POSTROUTING -s 10.0.0.0\/24 -o \S+ -j MASQUERADE/)
    expect(peerOf('node-c', KEYS['node-b']!)?.AllowedIPs).toEqual(['10.0.0.2/32', '10.0.0.4/32'])
    expect(peerOf('node-c', KEYS['node-a']!)?.AllowedIPs).toEqual(['10.0.0.1/32'])
    expect(peerOf('node-a', result.client.publicKey)?.AllowedIPs).toEqual(['10.0.0.4/32'])

    const before = readFileSync(file, 'utf8')
    const connections = hosts['node-a']!.connections
    await expect(addClient({...request(), name: 'other', fullTunnel: false, output}, deps())).rejects.toMatchObject({exitCode: 2, message: expect.stringMatching(/exists/)})
    expect(readFileSync(file, 'utf8')).toBe(before)
    expect(readFileSync(output, 'utf8')).toBe(text)
    expect(hosts['node-a']!.connections).toBe(connections)
  })

  it('refuses a NAT-ed or unknown via node, and a fleet never converged (exit 2, nothing touched)', async () => {
    writeFileSync(file, `${INVENTORY}\n[node-d]\nhost = 198.51.100.7\naddress = 10.0.0.9\nnat = true\n`)
    const before = readFileSync(file, 'utf8')
    await expect(addClient({...request(), name: 'phone', fullTunnel: false}, deps())).rejects.toMatchObject({exitCode: 2, message: expect.stringMatching(/not known yet/)})
    await expect(addClient({...request(), name: 'phone', via: ['node-d'], fullTunnel: false}, deps())).rejects.toMatchObject({exitCode: 2, message: expect.stringMatching(/behind NAT/)})
    await expect(addClient({...request(), name: 'phone', via: ['node-x'], fullTunnel: false}, deps())).rejects.toMatchObject({exitCode: 2})
    await expect(addClient({...request(), name: 'phone', fullTunnel: false, dns: ['nope']}, deps())).rejects.toMatchObject({exitCode: 2, message: expect.stringMatching(/--dns/)})
    expect(readFileSync(file, 'utf8')).toBe(before)
    expect(hosts['node-a']!.connections).toBe(0)
  })
})

describe('client add with preshared_keys = true', () => {
  it('the client gets a key with its via node: stored there (its entry carries it), in the printout, nowhere on this machine; client remove takes it off', async () => {
    writeFileSync(file, INVENTORY.replace('cidr = 10.0.0.0/24', 'cidr = 10.0.0.0/24\npreshared_keys = true'))
    await init()
    const before = {...hosts['node-a']!.state.psk}
    const {config, client, report} = await addClient({...request(), name: 'laptop', fullTunnel: false}, deps())
    expect(report.result).toBe('ok')
    const printed = /^PresharedKey = (\S+)$/m.exec(config!)?.[1]
    expect(printed).toMatch(/^[A-Za-z0-9+/]{43}=$/)
    // On the via node (node-a): the file for the client holds exactly that key; its entry carries the marker.
    expect(hosts['node-a']!.state.psk!['laptop']).toBe(printed)
    expect(hosts['node-a']!.state.config).toMatch(new RegExp(`# laptop\\n\\[Peer\\]\\nPublicKey = ${client.publicKey.replace(/[+/]/g, '\\$&')}\\nPresharedKey = @WGFLEET_PRESHARED_KEY@\\n`))
    // The pairs of nodes keep their keys; no other node has one for the client.
    for (const [peer, value] of Object.entries(before)) expect(hosts['node-a']!.state.psk![peer]).toBe(value)
    for (const other of ['node-b', 'node-c']) expect(hosts[other]!.state.psk?.['laptop']).toBeUndefined()
    // Never written on this machine (inventory, state) — only printed.
    expect(everythingWritten()).not.toContain(printed!)
    // A rerun keeps it (the pair is the client's: not renewed, not removed).
    const again = await runInit({inventory: file, dryRun: false, adopt: false, concurrency: 4, verifyTimeoutSeconds: 5, silent: true, connectTimeoutSeconds: 5, acceptNewHostKeys: false}, deps())
    expect(again.result).toBe('ok')
    expect(hosts['node-a']!.state.psk!['laptop']).toBe(printed)
    await removeClient({...request(), name: 'laptop'}, deps())
    expect(hosts['node-a']!.state.psk?.['laptop']).toBeUndefined()
  })
})

describe('client remove', () => {
  it('removes the section byte for byte, the peer from the via node and the routes from the others', async () => {
    await init()
    const configs = Object.fromEntries(Object.entries(hosts).map(([n, h]) => [n, h.state.config]))
    const {client} = await addClient({...request(), name: 'phone', fullTunnel: false}, deps())
    const result = await removeClient({...request(), name: 'phone'}, deps())
    expect(result.report.result).toBe('ok')
    expect(result.client.name).toBe('phone')
    expect(readFileSync(file, 'utf8')).toBe(INVENTORY)
    expect(peerOf('node-a', client.publicKey)).toBeUndefined()
    for (const [name, host] of Object.entries(hosts)) expect(host.state.config, name).toBe(configs[name])
    await expect(removeClient({...request(), name: 'phone'}, deps())).rejects.toMatchObject({exitCode: 2})
  })

  it('remove-node refuses a via node of a client (exit 2) and changes nothing', async () => {
    await init()
    await addClient({...request(), name: 'phone', via: ['node-b'], fullTunnel: false}, deps())
    const before = readFileSync(file, 'utf8')
    await expect(removeNode({...request(), name: 'node-b', purge: false}, deps())).rejects.toMatchObject({exitCode: 2, message: expect.stringMatching(/via node of the client\(s\) phone/)})
    expect(readFileSync(file, 'utf8')).toBe(before)
  })
})
