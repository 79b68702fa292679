/**
 * The one module that knows listr2's renderers. Runs one task per node, concurrently (bounded), never
 * stopping on a failure, and hands back every node's own outcome: listr2 resolves even when tasks fail
 * with exitOnError:false, so results are kept here, not read off listr2.
 *
 * Progress always goes to stderr (stdout carries the result). On a TTY: listr2's default renderer, for up
 * to LIVE_DISPLAY_MAX_NODES nodes. Not on a TTY (cron, CI, pipes), or more nodes: one line per step change, node name first (`node-c: probing`), and nothing
 * else — listr2's own plain renderers add [STARTED]/[COMPLETED] lines that say nothing. With --json: silent.
 */
import {Listr, ListrLogger, ProcessOutput} from 'listr2'

import {runBounded} from '../lib/concurrency.js'
import {escapeInvisible} from '../lib/errors.js'

export type NodeOutcome<T> = {ok: true; value: T} | {ok: false; error: unknown}

export interface RunnerOptions {
  concurrency: number
  /** --json: no progress at all. */
  silent: boolean
}

export type Progress = (message: string) => void

/**
 * The most nodes listr2's live display is used for. It redraws every task's line on each change (and each
 * spinner tick), so its cost grows with N²: measured with two progress steps per node, 2.8 CPU-s at 50
 * nodes, 11.5 at 100, 47 at 200 — more than the converge itself. Past this, a terminal gets the plain
 * lines too.
 */
export const LIVE_DISPLAY_MAX_NODES = 30

export async function runPerNode<T>(
  nodes: readonly string[],
  work: (node: string, progress: Progress) => Promise<T>,
  options: RunnerOptions,
): Promise<Map<string, NodeOutcome<T>>> {
  const outcomes = new Map<string, NodeOutcome<T>>()
  if (nodes.length === 0) return outcomes
  const tty = Boolean(process.stderr.isTTY) && !process.env.CI
  if (!tty || options.silent || nodes.length > LIVE_DISPLAY_MAX_NODES) return runPlain(nodes, work, options, outcomes)
  const logger = new ListrLogger({processOutput: new ProcessOutput(process.stderr, process.stderr), useIcons: tty})
  const list = new Listr(
    nodes.map((node) => ({
      title: node,
      task: async (_ctx: unknown, task: {output: string; title: string}) => {
        try {
          const value = await work(node, (message) => {
            task.output = `${node}: ${message}`
          })
          outcomes.set(node, {ok: true, value})
        } catch (error) {
          outcomes.set(node, {ok: false, error})
          throw error instanceof Error ? new Error(`${node}: ${error.message}`) : error
        }
      },
    })),
    {
      concurrent: Math.max(1, options.concurrency),
      exitOnError: false,
      registerSignalListeners: false,
      collectErrors: false,
      renderer: 'default',
      fallbackRenderer: 'simple',
      rendererOptions: {logger, collapseErrors: false, showErrorMessage: true} as never,
      fallbackRendererOptions: {logger} as never,
    },
  )
  await list.run().catch(() => undefined)
  // Anything listr2 did not run (it should run all) is reported, not silently dropped.
  for (const node of nodes) if (!outcomes.has(node)) outcomes.set(node, {ok: false, error: new Error('not run')})
  return outcomes
}

/** Not on a TTY (or silent): progress lines written as they change, no listr2. */
async function runPlain<T>(
  nodes: readonly string[],
  work: (node: string, progress: Progress) => Promise<T>,
  options: RunnerOptions,
  outcomes: Map<string, NodeOutcome<T>>,
): Promise<Map<string, NodeOutcome<T>>> {
  const line = (node: string, text: string) => {
    if (!options.silent) process.stderr.write(`${node}: ${escapeInvisible(text)}\n`)
  }
  await runBounded(nodes, options.concurrency, async (node) => {
    let last: string | undefined
    try {
      const value = await work(node, (message) => {
        if (message !== last) line(node, message)
        last = message
      })
      outcomes.set(node, {ok: true, value})
    } catch (error) {
      outcomes.set(node, {ok: false, error})
      line(node, `failed: ${error instanceof Error ? error.message : String(error)}`)
    }
  })
  return outcomes
}
