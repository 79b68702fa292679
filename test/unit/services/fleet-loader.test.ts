/**
 * An alias host's WireGuard endpoint is the HostName OpenSSH resolves it to (`ssh -F FILE -G`, the case's
 * config only); an endpoint written out, an IP host and a NAT-ed node are left alone.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {parseInventory} from '../../../src/inventory/index.js'
import {withResolvedEndpoints} from '../../../src/services/fleet-loader.js'
import {createConfigEvaluator, type HostQuery} from '../../../src/ssh/evaluate.js'

const work = mkdtempSync(join(tmpdir(), 'wgfleet-fleet-loader-'))
afterAll(() => rmSync(work, {recursive: true, force: true}))

const INVENTORY = `[network]
cidr = 10.0.0.0/24

[web]
host = web-1
address = 10.0.0.1

[pinned]
host = web-2
address = 10.0.0.2
endpoint = vpn.example.net:51821

[plain]
host = 203.0.113.9
address = 10.0.0.3

[hidden]
host = web-3
address = 10.0.0.4
nat = true
`

describe('withResolvedEndpoints', () => {
  it('gives an alias host the HostName ssh resolves it to, and leaves the rest alone', async () => {
    const config = join(work, 'config')
    writeFileSync(config, 'Host web-1\n  HostName 203.0.113.7\nHost web-*\n  HostName %h.lan.example\n')
    const evaluator = createConfigEvaluator({sshCommand: ['ssh', '-F', config]})
    const asked: HostQuery[] = []
    const counting = {...evaluator, source: evaluator.source, local: evaluator.local, evaluate: (query: HostQuery) => (asked.push(query), evaluator.evaluate(query)), connectionHashStyle: () => evaluator.connectionHashStyle(), warnings: () => evaluator.warnings()}
    const fleet = await withResolvedEndpoints(parseInventory(INVENTORY, join(work, 'inventory.ini')), counting)
    expect(fleet.nodes.map((node) => [node.name, node.endpointHost ?? null, node.endpointPort ?? null])).toEqual([
      ['web', '203.0.113.7', 51820],
      ['pinned', 'vpn.example.net', 51821],
      ['plain', '203.0.113.9', 51820],
      ['hidden', null, null],
    ])
    // Only the alias without an endpoint was evaluated: no ssh -G for an address or a written endpoint.
    expect(asked.map((query) => query.alias)).toEqual(['web-1'])
  })
})
