/**
 * The CLI on bad input: every damaged inventory and every bad flag ends in exit code 2, with a message
 * naming the file, the line and the key — and no connection is attempted. A TCP listener on 127.0.0.1
 * stands where the inventory's hosts point, and must see no connection.
 */
import {chmodSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {connectionCounter, runCli} from './helpers.js'

let listener: Awaited<ReturnType<typeof connectionCounter>>
let dir: string

beforeAll(async () => {
  listener = await connectionCounter()
  dir = mkdtempSync(join(tmpdir(), 'wgfleet-cli-'))
})
afterAll(async () => {
  await listener.close()
})

function inventory(body: string): string {
  const file = join(dir, `inv-${Math.random().toString(36).slice(2)}.ini`)
  writeFileSync(file, body)
  return file
}

const network = '[network]\ncidr = 10.0.0.0/24\n'
const node = (name: string, rest: string) => `[${name}]\nhost = 127.0.0.1\nssh_port = PORT\n${rest}`

// [name, inventory text, line the message must name, key the message must name]
const cases: Array<[string, string, number, string]> = [
  ['no cidr', `[network]\nport = 51820\n${node('node-a', 'address = 10.0.0.1\n')}`, 1, 'cidr'],
  ['bad cidr', `[network]\ncidr = 10.0.0.300/24\n${node('node-a', 'address = 10.0.0.1\n')}`, 2, 'cidr'],
  ['no address', `${network}${node('node-a', '')}`, 3, 'address'],
  ['address outside cidr', `${network}${node('node-a', 'address = 10.9.0.1\n')}`, 6, 'address'],
  ['broadcast address', `${network}${node('node-a', 'address = 10.0.0.255\n')}`, 6, 'address'],
  ['address used twice', `${network}${node('node-a', 'address = 10.0.0.1\n')}${node('node-b', 'address = 10.0.0.1\n')}`, 10, 'address'],
  ['bad port', `${network}${node('node-a', 'address = 10.0.0.1\nport = 70000\n')}`, 7, 'port'],
  ['unknown key', `${network}${node('node-a', 'address = 10.0.0.1\nadress = 10.0.0.2\n')}`, 7, 'adress'],
  ['duplicate key', `${network}${node('node-a', 'address = 10.0.0.1\naddress = 10.0.0.2\n')}`, 7, 'address'],
  ['duplicate section', `${network}${node('node-a', 'address = 10.0.0.1\n')}${node('node-a', 'address = 10.0.0.2\n')}`, 7, 'node-a'],
  ['bad node name', `${network}${node('Node_A', 'address = 10.0.0.1\n')}`, 3, 'Node_A'],
  ['bad interface', `${network}interface = wg/0\n${node('node-a', 'address = 10.0.0.1\n')}`, 3, 'interface'],
  ['nat with endpoint', `${network}${node('node-a', 'address = 10.0.0.1\nnat = true\nendpoint = 1.2.3.4\n')}`, 8, 'endpoint'],
  ['jump to itself', `${network}${node('node-a', 'address = 10.0.0.1\njump = node-a\n')}`, 7, 'jump'],
  ['jump unknown', `${network}${node('node-a', 'address = 10.0.0.1\njump = node-z\n')}`, 7, 'jump'],
  ['exit_via unknown', `${network}${node('node-a', 'address = 10.0.0.1\nexit_via = node-z\n')}`, 7, 'exit_via'],
  ['boolean not boolean', `${network}${node('node-a', 'address = 10.0.0.1\nrelay = yes\n')}`, 7, 'relay'],
  ['shell in host', `${network}[node-a]\nhost = 1.2.3.4;reboot\naddress = 10.0.0.1\n`, 4, 'host'],
  ['shell in user', `${network}${node('node-a', 'address = 10.0.0.1\nssh_user = root$(id)\n')}`, 7, 'ssh_user'],
  ['quote in identity', `${network}${node('node-a', "address = 10.0.0.1\nidentity = /tmp/x'y\n")}`, 7, 'identity'],
  ['comment after header', `${network}[node-a] ; first\nhost = 127.0.0.1\naddress = 10.0.0.1\n`, 3, 'node-a'],
]

describe.each(['plan', 'init', 'init --dry-run'])('wgfleet %s on a damaged inventory', (command) => {
  it.each(cases)('%s: exit 2, names line and key, contacts nothing', async (_name, text, line, key) => {
    const file = inventory(text.replaceAll('PORT', String(listener.port)))
    const before = listener.count()
    const result = await runCli([...command.split(' '), '-i', file])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain(`${file}:${line}:`)
    expect(result.stderr).toContain(key)
    expect(result.stderr).not.toMatch(/\n\s+at .*\.js:\d+/) // no stack trace
    expect(listener.count()).toBe(before)
  })
})

describe('files that cannot be used', () => {
  it('a missing file: exit 2 with a hint', async () => {
    const result = await runCli(['plan', '-i', join(dir, 'nope.ini')])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/nope\.ini: no such file/)
    expect(result.stderr).toMatch(/Hint|hint/)
  })

  it('an empty file: exit 2', async () => {
    const result = await runCli(['plan', '-i', inventory('')])
    expect(result.code).toBe(2)
  })

  it('a file the user may not read: exit 2 (run as nobody)', async () => {
    const file = inventory(`${network}${node('node-a', 'address = 10.0.0.1\n')}`)
    chmodSync(dir, 0o755)
    chmodSync(file, 0o000)
    const result = await runCli(['plan', '-i', file], {
      command: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath],
      env: {HOME: '/nonexistent'},
    })
    expect(result.stderr).toContain('cannot be read: permission denied')
    expect(result.code).toBe(2)
  })
})

describe('bad flags', () => {
  const good = () => inventory(`${network}${node('node-a', `address = 10.0.0.1\n`).replaceAll('PORT', String(listener.port))}`)
  it.each([
    ['plan', '--bogus'],
    ['init', '--concurrency', '0'],
    ['init', '--concurrency', 'many'],
    ['init', '--connect-timeout', '-1'],
    ['init', '--verify-timeout', 'x'],
    ['init', '--accept-key-change', 'Node_A'],
    ['init', '--accept-key-change', 'node-z'],
    ['init', '--accept-key-change', 'node-a', '--accept-key-change', 'node-z'],
    ['add-node', 'node-b', '--host', '127.0.0.1', '--accept-key-change', 'node-z'],
  ])('%s %s: exit 2 before any connection', async (...args) => {
    const before = listener.count()
    const result = await runCli([...args, '-i', good()])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/Error/)
    expect(listener.count()).toBe(before)
  })

  it('--json: the usage error is one JSON document on stdout', async () => {
    const result = await runCli(['plan', '--json', '--bogus', '-i', good()])
    expect(result.code).toBe(2)
    expect(JSON.parse(result.stdout).error.name).toBe('UsageError')
  })

  it('--json: an inventory error lists every problem with its line and key', async () => {
    const file = inventory(`${network}[node-a]\nhost = 127.0.0.1\nadress = 10.0.0.1\n`)
    const result = await runCli(['plan', '--json', '-i', file])
    expect(result.code).toBe(2)
    const problems = JSON.parse(result.stdout).error.problems
    expect(problems).toEqual(
      expect.arrayContaining([expect.objectContaining({line: 5, key: 'adress', hint: expect.stringContaining('address')})]),
    )
  })
})
