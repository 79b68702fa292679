/**
 * The one rule for interface names (WireGuard's own, an uplink a host reports): what wg-quick accepts
 * (1–15 of a-z A-Z 0-9 _ = + . -), minus what the kernel or `wg` would misread: "." and "..", a leading
 * "-" (an option), and the words `all` / `interfaces` of `wg show`.
 */
const WG_QUICK_NAME = /^[a-zA-Z0-9_=+.-]{1,15}$/

export type InterfaceNameProblem = 'too-long' | 'not-wg-quick' | 'dots' | 'dash' | 'wg-word'

export function interfaceNameProblem(name: string): InterfaceNameProblem | null {
  if (!WG_QUICK_NAME.test(name)) return name.length > 15 ? 'too-long' : 'not-wg-quick'
  if (name === '.' || name === '..') return 'dots'
  if (name.startsWith('-')) return 'dash'
  if (name === 'all' || name === 'interfaces') return 'wg-word'
  return null
}

export function isInterfaceName(name: string): boolean {
  return interfaceNameProblem(name) === null
}
