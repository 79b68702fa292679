/**
 * The status service over real SSH: ssh2 client → in-process ssh2 server on 127.0.0.1 → a local bash
 * running src/remote/status.sh against fake `wg`/`ip`/`date` (./fakes.ts). Proves, at the wire: one
 * connection and one exec per node, the fixed command line, the private key never crosses (the
 * transcript of every byte both ways holds none of it), ages against the node's clock, and an
 * unreachable node reported with its classified reason.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {runStatus} from '../../../src/services/status.js'
import {openStateStore} from '../../../src/state/state.js'
import {closedPort, startTestServer, type TestServer} from '../ssh/helpers/ssh-test-server.js'
import {PEER_B, PEER_C, PRIVATE_KEY, PUBLIC_KEY, statusHost} from './fakes.js'
import {usableKeyPair} from '../../helpers/keys.js'

const saved = {PATH: process.env.PATH, HOME: process.env.HOME, SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK, WGFLEET_TRANSCRIPT: process.env.WGFLEET_TRANSCRIPT, FAKE_STATE: process.env.FAKE_STATE}
let dir: string
let server: TestServer
let inventory: string
let transcript: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wgfleet-status-ssh-'))
  const clientKey = usableKeyPair('ed25519')
  writeFileSync(join(dir, 'id_test'), clientKey.private, {mode: 0o600})
  server = await startTestServer({users: {root: {publicKey: clientKey.public}}})
  writeFileSync(join(dir, 'known_hosts'), server.knownHostsLine() + '\n')
  // The server's bash inherits this process's environment: the fakes first on PATH. Nothing of the real
  // ~/.ssh or ssh-agent is used.
  const host = statusHost(join(dir, 'host'), 'inherit')
  process.env.PATH = host.path
  process.env.HOME = dir
  delete process.env.SSH_AUTH_SOCK
  process.env.FAKE_STATE = host.state
  transcript = join(dir, 'transcript.log')
  process.env.WGFLEET_TRANSCRIPT = transcript

  inventory = join(dir, 'inventory.ini')
  writeFileSync(
    inventory,
    `[network]\ncidr = 10.0.0.0/24\n\n[ssh]\nuser = root\nidentity = id_test\nknown_hosts = known_hosts\n\n` +
      `[node-a]\nhost = 127.0.0.1\nssh_port = ${server.port}\naddress = 10.0.0.1\n\n` +
      `[node-b]\nhost = 127.0.0.1\nssh_port = ${await closedPort()}\naddress = 10.0.0.2\n`,
  )
  const store = openStateStore(dir)
  await store.updateNode('node-a', {publicKey: PUBLIC_KEY})
  await store.updateNode('node-b', {publicKey: PEER_B})
})

afterAll(async () => {
  await server?.close()
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key]
    else process.env[key] = value
  }
})

describe('runStatus over SSH', () => {
  it('reads node-a in one exec, reports node-b unreachable, and never moves the private key', async () => {
    const {status, exitCode} = await runStatus({inventory, staleAfterSeconds: 180, concurrency: 4, connectTimeoutSeconds: 5, acceptNewHostKeys: false})

    expect(exitCode).toBe(1)
    const [a, b] = status.nodes
    expect(a).toMatchObject({name: 'node-a', reachable: true, interfaceUp: true, listenPort: 51820, publicKey: PUBLIC_KEY})
    // The fake node clock is years behind this machine's: the handshake is still 12 s old.
    expect(a!.peers.map((p) => [p.name ?? p.publicKey, p.state, p.ageSeconds])).toEqual([
      ['node-b', 'ok', 12],
      [PEER_C, 'unknown-peer', null],
    ])
    expect(b).toMatchObject({name: 'node-b', reachable: false, problem: {kind: 'unreachable', message: expect.stringMatching(/connection refused/)}})

    // One exec on the wire, the fixed command line, with the interface as its only argument.
    expect(server.commands).toEqual(["env -u SHELLOPTS -u BASHOPTS -u BASH_ENV -u ENV bash --norc --noprofile -s -- 'wg0'"])
    expect(server.logins).toEqual(['root'])

    // Every byte sent and received is in the transcript: the peers are there, the private key is not.
    const wire = readFileSync(transcript, 'utf8')
    expect(wire).toContain(PEER_B)
    expect(wire).not.toContain(PRIVATE_KEY)
  })
})
