/** Hand-built Fleet objects for planner tests (the inventory parser is not used here on purpose). */
import type {Fleet, NetworkSettings, NodeSpec} from '../../../src/inventory/model.js'
import {LAB_KEYS, SPARE_KEY} from '../../fixtures/lab-fleet.js'

export const KEYS = {...LAB_KEYS, 'node-e': SPARE_KEY} as const

export interface NodeInput {
  name: string
  address: string
  host?: string
  endpointHost?: string
  port?: number
  nat?: boolean
  relay?: boolean
  exitVia?: string
  dns?: string[]
  address6?: string
}

export function node(input: NodeInput, index = 0, network: Pick<NetworkSettings, 'port'> = {port: 51820}): NodeSpec {
  const nat = input.nat ?? false
  const host = input.host ?? `198.51.100.${index + 10}`
  return {
    name: input.name,
    line: 10 + index * 5,
    host,
    address: input.address,
    ...(nat ? {} : {endpointHost: input.endpointHost ?? host}),
    port: input.port ?? network.port,
    nat,
    relay: input.relay ?? false,
    ssh: {user: 'root', port: 22},
    ...(input.exitVia === undefined ? {} : {exitVia: input.exitVia}),
    ...(input.dns === undefined ? {} : {dns: input.dns}),
    ...(input.address6 === undefined ? {} : {address6: input.address6}),
  }
}

export function fleet(nodes: NodeInput[], network: Partial<NetworkSettings> = {}): Fleet {
  const settings: NetworkSettings = {
    cidr: '10.0.0.0/24',
    prefixLength: 24,
    port: 51820,
    keepalive: 25,
    interface: 'wg0',
    topology: 'mesh',
    ...network,
  }
  return {
    file: '/srv/wg/inventory.ini',
    dir: '/srv/wg',
    network: settings,
    ssh: {user: 'root', port: 22},
    nodes: nodes.map((n, i) => node(n, i, settings)),
  }
}

/** The foundation scenario: node-a relay, node-b public, node-c NAT-ed. */
export const SCENARIO: NodeInput[] = [
  {name: 'node-a', host: '1.1.1.1', address: '10.0.0.1', relay: true},
  {name: 'node-b', host: '2.2.2.2', address: '10.0.0.2'},
  {name: 'node-c', host: '3.3.3.3', address: '10.0.0.3', nat: true},
]

export const NODE_D: NodeInput = {name: 'node-d', host: '4.4.4.4', address: '10.0.0.4', nat: true}

export function allKeys(): Record<string, string> {
  return {...KEYS}
}
