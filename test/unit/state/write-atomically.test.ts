import {mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import * as fsPromises from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {basename, join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {type AtomicWriteFs, writeAtomically} from '../../../src/state/state.js'

const folder = () => mkdtempSync(join(tmpdir(), 'wgfleet-state-'))

/** The real node:fs/promises, recording each step (with paths relative to the folder). */
function recordingFs(dir: string, failRename = false): {fs: AtomicWriteFs; steps: string[]} {
  const steps: string[] = []
  const name = (path: string) => (path === dir ? '<folder>' : basename(path).replace(/\.tmp-.*/, '.tmp'))
  const fs: AtomicWriteFs = {
    async open(path, flags, mode) {
      const handle = await fsPromises.open(path, flags, mode)
      steps.push(`open ${name(path)} ${flags}`)
      return {
        writeFile: async (data) => {
          await handle.writeFile(data)
          steps.push(`write ${name(path)}`)
        },
        sync: async () => {
          await handle.sync()
          steps.push(`fsync ${name(path)}`)
        },
        close: async () => {
          await handle.close()
          steps.push(`close ${name(path)}`)
        },
      }
    },
    async rename(from, to) {
      steps.push(`rename ${name(from)} ${name(to)}`)
      if (failRename) throw Object.assign(new Error('EXDEV: simulated'), {code: 'EXDEV'})
      await fsPromises.rename(from, to)
    },
    async rm(path, options) {
      steps.push(`rm ${name(path)}`)
      await fsPromises.rm(path, options)
    },
  }
  return {fs, steps}
}

describe('writeAtomically', () => {
  it('replaces the file with the new content and mode, leaving no temp file', async () => {
    const dir = folder()
    const file = join(dir, 'state.json')
    writeFileSync(file, 'old\n')
    await writeAtomically(file, 'new\n', 0o600)
    expect(readFileSync(file, 'utf8')).toBe('new\n')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readdirSync(dir)).toEqual(['state.json'])
  })

  it('flushes the temp file before the rename and the folder after it', async () => {
    const dir = folder()
    const file = join(dir, 'state.json')
    const {fs, steps} = recordingFs(dir)
    await writeAtomically(file, '{}\n', 0o644, fs)
    expect(steps).toEqual([
      'open state.json.tmp wx',
      'write state.json.tmp',
      'fsync state.json.tmp',
      'close state.json.tmp',
      'rename state.json.tmp state.json',
      'open <folder> r',
      'fsync <folder>',
      'close <folder>',
    ])
    expect(readFileSync(file, 'utf8')).toBe('{}\n')
  })

  it('removes the temp file and keeps the old file when the rename fails', async () => {
    const dir = folder()
    const file = join(dir, 'state.json')
    writeFileSync(file, 'old\n')
    const {fs, steps} = recordingFs(dir, true)
    await expect(writeAtomically(file, 'new\n', 0o644, fs)).rejects.toThrow(/EXDEV/)
    expect(steps.slice(-2)).toEqual(['rename state.json.tmp state.json', 'rm state.json.tmp'])
    expect(readFileSync(file, 'utf8')).toBe('old\n')
    expect(readdirSync(dir)).toEqual(['state.json'])
  })
})
