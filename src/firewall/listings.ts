/**
 * The firewall listings a host prints (`ufw status verbose`, `firewall-cmd --list-all`), parsed (pure).
 * What is judged from them lives in verdict.ts beside this file.
 */
export interface UfwReading {
  state: 'absent' | 'inactive' | 'active'
  /** Lines of `ufw status verbose` (when active). */
  status: string[]
}

/** One zone of `firewall-cmd --list-all`. */
export interface FirewalldZone {
  name: string
  target: string
  ports: string[]
  services: string[]
  /** Intra-zone forwarding (firewalld ≥ 1.0); null when the listing does not say. */
  forward: boolean | null
}

export interface FirewalldReading {
  state: 'absent' | 'stopped' | 'running'
  defaultZone: string
  /** Runtime zone of the WireGuard interface; '' when it has none (then the default zone applies). */
  interfaceZone: string
  /** The default zone, runtime and permanent. */
  runtime: FirewalldZone | null
  permanent: FirewalldZone | null
  /** The interface's zone, runtime (when it has one). */
  interfaceZoneRuntime: FirewalldZone | null
}

/**
 * `firewall-cmd --list-all`:
 *   public (active)
 *     target: default
 *     services: dhcpv6-client ssh
 *     ports: 51820/udp
 *     forward: yes
 */
export function parseFirewalldZone(lines: readonly string[] | undefined): FirewalldZone | null {
  if (!lines) return null
  const header = lines.find((l) => l.trim() !== '' && !/^\s/.test(l))
  if (!header) return null
  const fields = new Map<string, string>()
  for (const line of lines) {
    const m = /^\s+([a-z-]+):\s*(.*)$/.exec(line)
    if (m) fields.set(m[1]!, m[2]!.trim())
  }
  const words = (k: string) => (fields.get(k) ?? '').split(/\s+/).filter(Boolean)
  const forward = fields.get('forward')
  return {
    name: header.trim().split(/\s+/)[0]!,
    target: fields.get('target') ?? 'default',
    ports: words('ports'),
    services: words('services'),
    forward: forward === 'yes' ? true : forward === 'no' ? false : null,
  }
}

export interface UfwRule {
  to: string
  action: string
  from: string
}

export interface UfwStatus {
  /** incoming / outgoing / routed → allow, deny, reject, disabled */
  defaults: Map<string, string>
  rules: UfwRule[]
}

export function parseUfwStatus(lines: readonly string[]): UfwStatus {
  const defaults = new Map<string, string>()
  const rules: UfwRule[] = []
  let inRules = false
  for (const raw of lines) {
    const line = raw.replace(/\s+#.*$/, '').trimEnd()
    const d = /^Default:\s*(.*)$/.exec(line)
    if (d) {
      for (const part of d[1]!.split(',')) {
        const m = /^\s*(\S+)\s+\(([^)]+)\)\s*$/.exec(part)
        if (m) defaults.set(m[2]!, m[1]!)
      }
      continue
    }
    if (/^--/.test(line)) {
      inRules = true
      continue
    }
    if (!inRules || line.trim() === '') continue
    const cells = line.trim().split(/\s{2,}/)
    if (cells.length < 3) continue
    rules.push({to: cells[0]!.replace(/\s*\(v6\)$/, ''), action: cells[1]!, from: cells[2]!.replace(/\s*\(v6\)$/, '')})
  }
  return {defaults, rules}
}
