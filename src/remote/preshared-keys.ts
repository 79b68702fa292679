/**
 * Parser of the preshared keys' report (preshared-keys.sh `psk_report`: probe.sh, doctor.sh, psk.sh store):
 * one `psk=NAME:DIGEST:CONF:LIVE` line per file. Names and digests only — a host never prints a value. What
 * a host prints is untrusted: a line that does not fit is left out, as if the file were not there.
 */
import {oneOf} from './output.js'

export interface PresharedKeyFile {
  /** The peer's inventory name (the file's name under /etc/wireguard/IFACE.psk). */
  peer: string
  /** First 16 hex digits of the value's SHA-256, or `invalid` (the file holds no key). */
  digest: string
  /** The config's PresharedKey for that peer is the file's value. */
  config: 'same' | 'differs' | 'none'
  /** The running interface's preshared key for that peer's entry is the file's value (`down`: no interface). */
  live: 'same' | 'differs' | 'none' | 'down'
}

/** The most files a report is read for (the host prints at most as many). */
export const MAX_PRESHARED_KEY_FILES = 4096

const LINE = /^([a-z0-9][a-z0-9-]{0,62}):([0-9a-f]{16}|invalid):([a-z]+):([a-z]+)$/

/** Every well-formed `psk=` value, by peer name (a name printed twice: the first). */
export function parsePresharedKeyFiles(values: readonly string[]): Map<string, PresharedKeyFile> {
  const files = new Map<string, PresharedKeyFile>()
  for (const value of values.slice(0, MAX_PRESHARED_KEY_FILES)) {
    const match = LINE.exec(value)
    if (!match || files.has(match[1]!)) continue
    files.set(match[1]!, {
      peer: match[1]!,
      digest: match[2]!,
      config: oneOf(match[3], ['same', 'differs', 'none'] as const, 'differs'),
      live: oneOf(match[4], ['same', 'differs', 'none', 'down'] as const, 'differs'),
    })
  }
  return files
}
