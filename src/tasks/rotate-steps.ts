/**
 * The host steps of a key rotation (src/remote/rotate.sh), one exec each. Values are validated here again
 * before they become arguments; what the host prints is parsed, never evaluated, and only well-formed
 * public keys are kept (plan/key-trust judges them).
 */
import {parseKeyValues} from '../remote/output.js'
import {loadScript} from '../remote/scripts.js'
import type {RotationReport} from '../plan/rotation.js'
import {isWireGuardKey} from '../wireguard/keys.js'
import {isInterfaceName} from '../wireguard/interface-name.js'
import {BugError, NodeFailure} from '../lib/errors.js'
import type {ExecResult, RemoteShell} from './remote-shell.js'

export const ROTATE_TIMEOUT_MS = 30_000

/** A public key as the host printed it: kept when key-shaped, else as much as plan/key-trust shows of it. */
function keyOf(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined
  return value.slice(0, 100)
}

function failure(what: string, result: ExecResult): NodeFailure {
  const said = parseKeyValues(result.stdout).find(([k]) => k === 'error')?.[1]
  const stderr = result.stderr.trim().split('\n').filter(Boolean).slice(-2).join(' | ')
  return new NodeFailure(`${what} failed: ${(said ?? stderr) || `exit code ${result.code}`}`.slice(0, 400))
}

async function rotate(shell: RemoteShell, what: string, args: string[]): Promise<Map<string, string>> {
  if (!isInterfaceName(args[1]!)) throw new BugError(`unvalidated interface name ${JSON.stringify(args[1])}`)
  const result = await shell.run(loadScript('rotate'), args, {timeoutMs: ROTATE_TIMEOUT_MS})
  if (result.code !== 0) throw failure(what, result)
  return new Map(parseKeyValues(result.stdout))
}

function checkKey(key: string): string {
  if (!isWireGuardKey(key)) throw new BugError(`unvalidated public key ${JSON.stringify(key)}`)
  return key
}

/** The rotated node's three keys; with `generate`, a new key file is made first when there is none. */
export async function readRotationKeys(shell: RemoteShell, iface: string, generate: boolean): Promise<RotationReport> {
  const values = await rotate(shell, generate ? 'generating the new key' : 'reading the keys', [generate ? 'generate' : 'read', iface])
  return {keyFile: keyOf(values.get('keyfile_pubkey')), newKey: keyOf(values.get('new_pubkey')), interface: keyOf(values.get('interface_pubkey'))}
}

export async function switchInterfaceKey(shell: RemoteShell, iface: string, newKey: string): Promise<void> {
  await rotate(shell, 'switching the interface to the new key', ['switch', iface, checkKey(newKey)])
}

export async function commitNewKey(shell: RemoteShell, iface: string, newKey: string): Promise<void> {
  await rotate(shell, 'making the new key the key file', ['commit', iface, checkKey(newKey)])
}

const ENDPOINT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/
const PREFIX = /^[0-9a-fA-F:.]+\/\d{1,3}$/

/** PRESHARED_KEY_OF: the rotated node's name when the entry carries the pair's preshared key (the peer's file for it), else null. */
export async function addPeerEntry(shell: RemoteShell, iface: string, newKey: string, endpoint: string | null, keepalive: number, presharedKeyOf: string | null = null): Promise<void> {
  if (endpoint !== null && !ENDPOINT.test(endpoint)) throw new BugError(`unvalidated endpoint ${JSON.stringify(endpoint)}`)
  if (!Number.isInteger(keepalive) || keepalive < 0 || keepalive > 65_535) throw new BugError(`bad keepalive ${keepalive}`)
  if (presharedKeyOf !== null && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(presharedKeyOf)) throw new BugError(`unvalidated node name ${JSON.stringify(presharedKeyOf)}`)
  await rotate(shell, 'adding the new key as a peer', ['add', iface, checkKey(newKey), endpoint ?? '-', String(keepalive), presharedKeyOf ?? '-'])
}

export async function movePeerEntry(shell: RemoteShell, iface: string, newKey: string, oldKey: string, allowedIps: string[]): Promise<void> {
  if (allowedIps.length === 0 || !allowedIps.every((p) => PREFIX.test(p))) throw new BugError(`unvalidated AllowedIPs ${JSON.stringify(allowedIps)}`)
  if (newKey === oldKey) throw new BugError('moving a peer entry onto itself')
  await rotate(shell, 'moving the peer to the new key', ['move', iface, checkKey(newKey), checkKey(oldKey), allowedIps.join(',')])
}
