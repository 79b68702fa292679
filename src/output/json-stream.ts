/**
 * A JSON document written in pieces. oclif's `enableJsonFlag` stringifies whatever `run()` returns in one
 * piece, and a 1,000-node mesh plan is hundreds of MB (past ~512 MB V8 cannot hold it as one string at
 * all): the head fields go first, then the array items one at a time, awaiting the stream when it is
 * full. The result is still exactly one JSON document.
 */
import type {Writable} from 'node:stream'

export async function writeJsonDocument(out: Writable, head: Record<string, unknown>, list: {key: string; items: Iterable<unknown> | AsyncIterable<unknown>}): Promise<void> {
  const write = async (text: string) => {
    if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', resolve))
  }
  let first = true
  await write('{')
  for (const [key, value] of Object.entries(head)) {
    if (value === undefined) continue
    await write(`${first ? '' : ','}\n  ${JSON.stringify(key)}: ${JSON.stringify(value)}`)
    first = false
  }
  await write(`${first ? '' : ','}\n  ${JSON.stringify(list.key)}: [`)
  let firstItem = true
  // Batch small items into one write (a write per item costs more than the item at large N).
  let batch = ''
  for await (const item of list.items) {
    batch += `${firstItem ? '' : ','}\n    ${JSON.stringify(item)}`
    firstItem = false
    if (batch.length > 1 << 20) {
      await write(batch)
      batch = ''
    }
  }
  await write(`${batch}${firstItem ? '' : '\n  '}]\n}\n`)
}

/** Text chunks to a stream, awaiting it when it is full. */
export async function writeText(out: Writable, chunks: AsyncIterable<string> | Iterable<string>): Promise<void> {
  for await (const chunk of chunks) {
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', resolve))
  }
}
