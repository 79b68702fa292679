import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {TranscriptRefusedError} from '../../../src/ssh/errors.js'
import {openTranscript} from '../../../src/ssh/shell.js'

const dir = mkdtempSync(join(tmpdir(), 'wgfleet-transcript-'))
let counter = 0
const fresh = () => join(dir, `t-${++counter}`)

function refusal(file: string, uid = process.getuid?.()): TranscriptRefusedError {
  try {
    openTranscript(file, 'node-a', uid).close()
  } catch (error) {
    expect(error).toBeInstanceOf(TranscriptRefusedError)
    return error as TranscriptRefusedError
  }
  throw new Error('expected a refusal')
}

describe('openTranscript', () => {
  it('creates a missing file 0600 and writes blocks with byte counts', () => {
    const file = fresh()
    const transcript = openTranscript(file, 'node-a')
    transcript.block('<<< stdout', Buffer.from('abc'))
    transcript.close()
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readFileSync(file, 'utf8')).toBe('--- node-a <<< stdout (3 bytes)\nabc\n(no newline at end)\n')
  })

  it('drops writes after close (the descriptor number may belong to another file by then)', () => {
    const file = fresh()
    const transcript = openTranscript(file, 'node-a')
    transcript.close()
    transcript.line('late')
    transcript.close()
    expect(readFileSync(file, 'utf8')).toBe('')
  })

  it('refuses a file that belongs to another user', () => {
    const file = fresh()
    writeFileSync(file, '', {mode: 0o600})
    const owner = statSync(file).uid
    expect(refusal(file, owner + 1).message).toBe(`transcript file ${file} refused: it belongs to uid ${owner}, not to this user (uid ${owner + 1})`)
  })

  it('refuses a FIFO without waiting for a reader, and a directory', () => {
    const fifo = fresh()
    execFileSync('mkfifo', [fifo])
    expect(refusal(fifo).message).toMatch(/it is not a regular file$/)
    const folder = fresh()
    mkdirSync(folder)
    expect(refusal(folder).message).toMatch(/cannot open it \(EISDIR\)$/)
  })
})
