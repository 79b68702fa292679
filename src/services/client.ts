/**
 * `client add | list | remove`: roaming clients (laptops, phones). A client is a section of the inventory
 * (`client = true`, its public key, address and via nodes); its via nodes get a peer entry for it and every
 * other node a route to it, live (`wg syncconf`, as add-node does). wgfleet never connects to a client.
 *
 * The client's private key is the one private key wgfleet ever holds: made here, on the operator machine,
 * put into the config that `client add` prints (or writes with --output) once, and kept nowhere — not in
 * the inventory, state, the transcript or a log. (A phone has no SSH, so no host can make it.)
 */
import {generateKeyPairSync, randomBytes} from 'node:crypto'
import {readFile, stat, writeFile} from 'node:fs/promises'
import {resolve} from 'node:path'

import {appendNodeSection, loadInventory, nextFreeAddress, parseInventory, removeNodeSection, renderClientSection, validateNewClient, type ClientValues} from '../inventory/index.js'
import type {ClientSpec, Fleet} from '../inventory/model.js'
import {checkDnsServers} from '../inventory/values.js'
import {BugError, UsageError} from '../lib/errors.js'
import {lockInventory} from '../lib/lock.js'
import {renderClientConfig} from '../plan/clients.js'
import {publicRelays} from '../plan/topology.js'
import {openStateStore, stateDirFor, writeAtomically} from '../state/state.js'
import {isWireGuardKey} from '../wireguard/keys.js'
import {shellPoolFor, type FleetDependencies} from './connections.js'
import {PresharedKeyValue, storePresharedKeys} from '../tasks/psk-steps.js'
import type {ConvergeReport} from './converge-report.js'
import {withResolvedEndpoints} from './fleet-loader.js'
import {converge, fileMode, type MembershipRequest} from './membership.js'

export interface ClientAddRequest extends MembershipRequest {
  name: string
  /** --via NODE...: default the first public relay. */
  via?: string[]
  address?: string
  fullTunnel: boolean
  dns?: string[]
  /** --output FILE: write the config there (0600, never over an existing file) instead of printing it. */
  output?: string
}

export interface ClientAddResult {
  client: ClientSpec
  /** The client's wg-quick config, with its private key: the printout (null when written to `output`). */
  config: string | null
  /** Absolute path the config was written to (--output). */
  output: string | null
  report: ConvergeReport
}

/** A new X25519 key pair as WireGuard writes keys: base64 of the raw 32 bytes. */
export function generateClientKeyPair(): {privateKey: string; publicKey: string} {
  // JWK carries the raw key bytes (base64url): no DER offsets to slice.
  const {privateKey, publicKey} = generateKeyPairSync('x25519')
  const raw = (base64url: string | undefined) => Buffer.from(base64url ?? '', 'base64url').toString('base64')
  const keys = {privateKey: raw(privateKey.export({format: 'jwk'}).d), publicKey: raw(publicKey.export({format: 'jwk'}).x)}
  if (!isWireGuardKey(keys.privateKey) || !isWireGuardKey(keys.publicKey)) throw new BugError('node:crypto made an X25519 key that is not 32 bytes')
  return keys
}

/**
 * Validate (exit 2, nothing touched), then take the lock, append the section, write --output, converge
 * every node. The config is returned even when some node failed: the client is in the inventory by then,
 * and a rerun of `init` finishes the nodes — the private key exists nowhere else.
 */
export async function addClient(request: ClientAddRequest, deps: FleetDependencies = {}): Promise<ClientAddResult> {
  const fleet = await loadInventory(request.inventory)
  const via = request.via && request.via.length > 0 ? request.via : [defaultVia(fleet)]
  const dns = request.dns && request.dns.length > 0 ? checkedDns(request.dns) : undefined
  const output = request.output === undefined ? null : resolve(request.output)
  if (output !== null) await refuseExisting(output)
  const keys = generateClientKeyPair()
  const values: ClientValues = {
    public_key: keys.publicKey,
    address: request.address ?? nextFreeAddress(fleet),
    via: via.join(', '),
    ...(request.fullTunnel ? {full_tunnel: true as const} : {}),
  }
  const client = validateNewClient(fleet, request.name, values, {origin: 'client add'})
  const viaKeys = await pinnedKeys(fleet, client.via)

  const unlock = await (deps.lock ?? lockInventory)(fleet.file, stateDirFor(fleet.dir))
  try {
    const text = await readFile(fleet.file, 'utf8')
    const updated = appendNodeSection(text, renderClientSection(request.name, values))
    // The new file must read back as the old fleet plus this client, or nothing is written.
    const grown = await withResolvedEndpoints(parseInventory(updated, fleet.file))
    // Preshared keys on: one per via node, stored there before the inventory names the client (a store
    // that fails changes nothing: the file it may leave has no entry, and the next converge removes it).
    const presharedKeys = grown.network.presharedKeys ? await storeClientKeys(grown, client, request, deps) : undefined
    await writeAtomically(fleet.file, updated, await fileMode(fleet.file))
    const config = renderClientConfig(grown, {
      client,
      privateKey: keys.privateKey,
      via: client.via.map((name) => ({node: grown.nodes.find((n) => n.name === name)!, publicKey: viaKeys.get(name)!})),
      ...(dns ? {dns} : {}),
      ...(presharedKeys ? {presharedKeys} : {}),
    })
    // 'wx': created 0600 and never over a file that appeared since the check above.
    if (output !== null) await writeFile(output, config, {mode: 0o600, flag: 'wx'})
    const report = await converge(grown, request, 'client add', deps, unlock.signal)
    return {client, config: output === null ? config : null, output, report}
  } finally {
    await unlock()
  }
}

/**
 * The client's preshared key with each via node: made here with its key pair (no host is the client's
 * end), carried to the via node through its SSH session in memory (masked in the transcript), stored there
 * 0600 as psk.sh stores every pair's key; never written on this machine. Returned for the printout only.
 */
async function storeClientKeys(fleet: Fleet, client: ClientSpec, request: MembershipRequest, deps: FleetDependencies): Promise<Map<string, string>> {
  const keys = new Map<string, string>()
  const shells = shellPoolFor(fleet, request, deps)
  try {
    for (const name of client.via) {
      const value = randomBytes(32).toString('base64')
      const shell = await shells.open(fleet.nodes.find((n) => n.name === name)!)
      await storePresharedKeys(shell, fleet.network.interface, [{peer: client.name, publicKey: null, key: new PresharedKeyValue(value)}])
      keys.set(name, value)
    }
  } finally {
    await shells.closeAll()
  }
  return keys
}

/** The first public relay: where a client goes without --via. */
function defaultVia(fleet: Fleet): string {
  const relay = publicRelays(fleet.nodes)[0]
  if (relay) return relay.name
  const some = fleet.nodes.filter((n) => !n.nat).map((n) => n.name)
  throw new UsageError('no public node has relay = true, so there is no default via node for the client', `name one with --via NODE${some.length > 0 ? ` (public nodes: ${some.join(', ')})` : ''}`)
}

function checkedDns(dns: string[]): string[] {
  const checked = checkDnsServers(dns.join(', '))
  if (!checked.ok) throw new UsageError(`--dns: ${checked.message}`, checked.hint)
  return checked.value
}

async function refuseExisting(path: string): Promise<void> {
  const exists = await stat(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? false : Promise.reject(error)),
  )
  if (exists) throw new UsageError(`--output: ${path} exists; wgfleet never overwrites a client config`, 'choose another file name, or move the old file away first (it holds a private key: delete it with care)')
}

/** The via nodes' pinned public keys (the client's config names them): the fleet must have been converged. */
async function pinnedKeys(fleet: Fleet, via: string[]): Promise<Map<string, string>> {
  const state = await openStateStore(fleet.dir).load()
  const keys = new Map<string, string>()
  const missing: string[] = []
  for (const name of via) {
    const key = Object.hasOwn(state.nodes, name) ? state.nodes[name]!.publicKey : undefined
    if (key !== undefined && isWireGuardKey(key)) keys.set(name, key)
    else missing.push(name)
  }
  if (missing.length > 0) throw new UsageError(`the public key of ${missing.join(', ')} is not known yet`, 'run `wgfleet init` first: the client\'s config names its via nodes\' keys')
  return keys
}

export interface ClientRemoveResult {
  client: ClientSpec
  report: ConvergeReport
}

/** Remove the section (no other byte changes), then converge: the via nodes drop the peer, the others the route. */
export async function removeClient(request: MembershipRequest & {name: string}, deps: FleetDependencies = {}): Promise<ClientRemoveResult> {
  const fleet = await loadInventory(request.inventory)
  const client = clientNamed(fleet, request.name)
  const unlock = await (deps.lock ?? lockInventory)(fleet.file, stateDirFor(fleet.dir))
  try {
    const text = await readFile(fleet.file, 'utf8')
    const shrunkText = removeNodeSection(text, client.name)
    const shrunk = await withResolvedEndpoints(parseInventory(shrunkText, fleet.file))
    await writeAtomically(fleet.file, shrunkText, await fileMode(fleet.file))
    const report = await converge(shrunk, request, 'client remove', deps, unlock.signal)
    return {client, report}
  } finally {
    await unlock()
  }
}

/** `client list`: the inventory's clients (no connection). */
export async function listClients(inventory: string): Promise<ClientSpec[]> {
  return (await loadInventory(inventory)).clients ?? []
}

function clientNamed(fleet: Fleet, name: string): ClientSpec {
  const client = fleet.clients?.find((c) => c.name === name)
  if (client) return client
  const names = (fleet.clients ?? []).map((c) => c.name)
  throw new UsageError(`no client named ${name} in ${fleet.file}`, names.length > 0 ? `clients: ${names.join(', ')}` : 'the inventory has no clients (`wgfleet client list`)')
}
