/**
 * How old each node's key is (pure): from the creation time state records (rotate-key, or the run that
 * first pinned the key) and the operator's clock — a fact of the operator's records, not of the hosts.
 * `status --json` shows it; doctor warns past `[network] key_max_age_days`.
 */
export interface KeyAge {
  /** ISO time the key was created (or first pinned). */
  createdAt: string
  ageSeconds: number
  /** Whole days. */
  ageDays: number
}

const DAY_SECONDS = 86_400

/** NODES' key ages; a node with no recorded (or an unreadable) creation time is left out. */
export function keyAges(nodes: readonly string[], recorded: Readonly<Record<string, {keyCreatedAt?: string}>>, nowMs: number): Map<string, KeyAge> {
  const ages = new Map<string, KeyAge>()
  for (const name of nodes) {
    const createdAt = Object.hasOwn(recorded, name) ? recorded[name]!.keyCreatedAt : undefined
    const created = createdAt === undefined ? Number.NaN : Date.parse(createdAt)
    if (!Number.isFinite(created)) continue
    const ageSeconds = Math.max(0, Math.floor((nowMs - created) / 1000))
    ages.set(name, {createdAt: createdAt!, ageSeconds, ageDays: Math.floor(ageSeconds / DAY_SECONDS)})
  }
  return ages
}

/** Keys older than MAX_DAYS (none without a limit), in NODES' order. */
export function keysPastAge(nodes: readonly string[], ages: ReadonlyMap<string, KeyAge>, maxDays: number | undefined): Array<{node: string; age: KeyAge}> {
  if (maxDays === undefined) return []
  return nodes.flatMap((node) => {
    const age = ages.get(node)
    return age !== undefined && age.ageSeconds > maxDays * DAY_SECONDS ? [{node, age}] : []
  })
}
