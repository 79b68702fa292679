/**
 * A bounded-concurrency map, for --concurrency outside listr2 (status, doctor). Pure JavaScript on
 * purpose: it lives outside src/ssh so that using it never loads ssh2.
 */

/**
 * Run `fn` over `items` with at most `concurrency` at a time. Settles every item: one failure never
 * stops the others (results are in input order).
 */
export async function runBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length)
  const workers = Math.max(1, Math.min(Math.floor(concurrency) || 1, items.length))
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      try {
        results[index] = {status: 'fulfilled', value: await fn(items[index]!, index)}
      } catch (reason) {
        results[index] = {status: 'rejected', reason}
      }
    }
  }
  await Promise.all(Array.from({length: workers}, worker))
  return results
}
