/**
 * The host steps of preshared keys (src/remote/psk.sh), one exec each. A value travels only in these
 * execs' stdin and stdout (RunOptions.secret: masked in the transcript), is checked to be key-shaped, and is
 * never put in an error, a log line or a result: only peer names and digests come back.
 */
import {parseKeyValues, parseScriptOutput} from '../remote/output.js'
import {parsePresharedKeyFiles, type PresharedKeyFile} from '../remote/preshared-keys.js'
import {loadScript} from '../remote/scripts.js'
import {isWireGuardKey} from '../wireguard/keys.js'
import {isInterfaceName} from '../wireguard/interface-name.js'
import {BugError, NodeFailure} from '../lib/errors.js'
import type {ExecResult, RemoteShell} from './remote-shell.js'

export const PSK_TIMEOUT_MS = 30_000
const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/

/** A preshared key in wgfleet's memory, on its way from one host to the other. Never printed (see toJSON). */
export class PresharedKeyValue {
  readonly #value: string
  constructor(value: string) {
    if (!isWireGuardKey(value)) throw new NodeFailure('the host did not print a well-formed preshared key')
    this.#value = value
  }
  /** The value, for the store exec's stdin only. */
  reveal(): string {
    return this.#value
  }
  toString(): string {
    return '(preshared key)'
  }
  toJSON(): string {
    return '(preshared key)'
  }
}

/** The host's `error=` line (never a value: psk.sh prints none there), else its exit code. */
function failure(what: string, result: ExecResult): NodeFailure {
  const said = parseKeyValues(result.stdout).find(([k]) => k === 'error')?.[1]
  return new NodeFailure(`${what} failed: ${said ?? `exit code ${result.code}`}`.slice(0, 400))
}

function checkIface(iface: string): string {
  if (!isInterfaceName(iface)) throw new BugError(`unvalidated interface name ${JSON.stringify(iface)}`)
  return iface
}

/** COUNT new preshared keys made on the host (`wg genpsk`); nothing is written there. */
export async function generatePresharedKeys(shell: RemoteShell, iface: string, count: number): Promise<PresharedKeyValue[]> {
  if (!Number.isInteger(count) || count < 1 || count > 4096) throw new BugError(`bad preshared key count ${count}`)
  const result = await shell.run(loadScript('psk'), ['generate', checkIface(iface), String(count)], {timeoutMs: PSK_TIMEOUT_MS, secret: true})
  if (result.code !== 0) throw failure('generating preshared keys', result)
  const keys = parseKeyValues(result.stdout).filter(([k]) => k === 'key').map(([, v]) => v)
  if (keys.length !== count) throw new NodeFailure(`generating preshared keys failed: the host printed ${keys.length} of ${count}`)
  return keys.map((key) => new PresharedKeyValue(key))
}

export interface PresharedKeyToStore {
  /** The peer the key is for (the file's name). */
  peer: string
  /** The peer's public key on the running interface, to take the key at once; null: none to update. */
  publicKey: string | null
  key: PresharedKeyValue
}

/**
 * Stores each key as the host's file for its peer, sets it on the running interface's entry and fills the
 * config again; returns the host's report of every file afterwards.
 */
export async function storePresharedKeys(shell: RemoteShell, iface: string, keys: readonly PresharedKeyToStore[]): Promise<Map<string, PresharedKeyFile>> {
  const lines = keys.map(({peer, publicKey, key}) => {
    if (!NAME.test(peer)) throw new BugError(`unvalidated peer name ${JSON.stringify(peer)}`)
    if (publicKey !== null && !isWireGuardKey(publicKey)) throw new BugError(`unvalidated public key for ${peer}`)
    return `${peer} ${publicKey ?? '-'} ${key.reveal()}\n`
  })
  const result = await shell.run(loadScript('psk'), ['store', checkIface(iface), String(keys.length)], {
    input: `${lines.join('')}end\n`,
    timeoutMs: PSK_TIMEOUT_MS,
    secret: true,
  })
  if (result.code !== 0) throw failure('storing preshared keys', result)
  return parsePresharedKeyFiles(parseScriptOutput(result.stdout, new Set()).all('psk'))
}

/** Removes the host's files for these peers (their entries are gone). */
export async function deletePresharedKeys(shell: RemoteShell, iface: string, peers: readonly string[]): Promise<void> {
  for (const peer of peers) if (!NAME.test(peer)) throw new BugError(`unvalidated peer name ${JSON.stringify(peer)}`)
  const result = await shell.run(loadScript('psk'), ['delete', checkIface(iface), ...peers], {timeoutMs: PSK_TIMEOUT_MS})
  if (result.code !== 0) throw failure('removing preshared keys', result)
}
