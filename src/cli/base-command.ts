import {Command, Errors} from '@oclif/core'

import {InventoryErrors, WgfleetError} from '../lib/errors.js'
import {closeDefaultConfigEvaluator} from '../ssh/index.js'

/**
 * Shared behaviour of every wgfleet command: typed errors become a message + hint on stderr (or one JSON
 * document on stdout with --json) and their exit code; flag/argument errors exit 2; anything else is a bug
 * and says so. Exit codes are set through process.exitCode, never this.exit(): oclif 4 turns exit(n) into
 * 1 when --json is on.
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  /** Print the result as the one JSON document on stdout (commands return undefined to skip oclif's own). */
  protected printJson(value: unknown): void {
    process.stdout.write(JSON.stringify(value, null, 2) + '\n')
  }

  /** Every command ends by stopping the ssh config evaluator's runner (see ssh/ssh-g-runner.ts). */
  protected override async finally(err: Error | undefined): Promise<unknown> {
    await closeDefaultConfigEvaluator()
    return super.finally(err)
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<void> {
    const json = this.jsonEnabled()
    if (err instanceof WgfleetError) {
      process.exitCode = err.exitCode
      const problems = err instanceof InventoryErrors ? err.errors.map((e) => ({...e.location, message: e.message, hint: e.hint ?? null})) : undefined
      if (json) this.printJson({error: {name: err.name, message: err.message, hint: err.hint ?? null, exitCode: err.exitCode, ...(problems ? {problems} : {})}})
      else process.stderr.write(`Error: ${err.message}\n` + (err.hint ? `Hint: ${err.hint}\n` : ''))
      return
    }

    if (err instanceof Errors.ExitError) throw err
    // oclif's own usage errors (unknown flag, missing argument, bad flag value) carry exit 2.
    if (err instanceof Errors.CLIError && isUsageError(err)) {
      process.exitCode = 2
      const hint = `see \`wgfleet ${this.id ?? ''} --help\``.replace('  ', ' ')
      if (json) this.printJson({error: {name: 'UsageError', message: err.message, hint, exitCode: 2}})
      else process.stderr.write(`Error: ${stripAnsi(err.message)}\nHint: ${hint}\n`)
      return
    }

    process.exitCode = 1
    const detail = err?.stack ?? String(err)
    if (json) this.printJson({error: {name: 'InternalError', message: `internal error (a bug in wgfleet): ${err?.message}`, exitCode: 1}})
    process.stderr.write(`wgfleet: internal error — this is a bug in wgfleet, please report it with the lines below.\n${detail}\n`)
  }
}

function isUsageError(err: Errors.CLIError): boolean {
  const name = err.constructor?.name ?? ''
  return (err as {oclif?: {exit?: number}}).oclif?.exit === 2 || /Parse|Flag|Arg|Validation|Nonexistent|Unexpected|Required/.test(name)
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001B\[[0-9;]*m/g, '')
}
