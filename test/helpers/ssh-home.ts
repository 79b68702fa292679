/**
 * A private home for `ssh -G`: OpenSSH takes `~` from the passwd entry, not $HOME, so a test config is put
 * where it looks — a mount namespace of its own (with no network: `Match exec` and CanonicalizeHostname
 * reach nothing) in which the case's folder is bind-mounted over the real home. A holder process keeps
 * the namespace alive; `ssh` runs in it through nsenter. Needs root (as the fast suite runs).
 */
import {type ChildProcess, execFile, spawn} from 'node:child_process'
import {chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir, userInfo} from 'node:os'
import {dirname, join} from 'node:path'

export interface SshHome {
  /** The case's home on the real file system (its .ssh is what ssh reads as ~/.ssh). */
  dir: string
  /** The real home as ssh sees it inside the namespace (the passwd entry's). */
  home: string
  /** argv prefix that runs `ssh` inside the namespace. */
  sshCommand: string[]
  /** `ssh ARGS` inside the namespace: stdout. */
  ssh(args: readonly string[]): Promise<string>
  close(): Promise<void>
}

/** files: paths relative to the home (e.g. `.ssh/config`), written 0600 (folders 0700). */
export async function sshHome(files: Record<string, string>): Promise<SshHome> {
  if (process.getuid?.() !== 0) throw new Error('ssh -G comparisons need root (a mount namespace over the home ssh reads)')
  const dir = mkdtempSync(join(tmpdir(), 'wgfleet-sshhome-'))
  mkdirSync(join(dir, '.ssh'), {mode: 0o700})
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), {recursive: true, mode: 0o700})
    writeFileSync(join(dir, path), text.replaceAll('{dir}', dir), {mode: 0o600})
  }
  chmodSync(dir, 0o700)
  const home = userInfo().homedir
  const holder = spawn('unshare', ['--mount', '--net', '--propagation', 'private', '--', 'bash', '-c', 'mount --bind "$1" "$2" && echo ready && exec sleep 120', '_', dir, home], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  await ready(holder)
  const sshCommand = ['nsenter', `--mount=/proc/${holder.pid}/ns/mnt`, `--net=/proc/${holder.pid}/ns/net`, '--', 'ssh']
  return {
    dir,
    home,
    sshCommand,
    ssh: (args) =>
      new Promise((resolve, reject) => {
        const [file, ...prefix] = sshCommand
        execFile(file!, [...prefix, ...args], {timeout: 10_000}, (error, stdout, stderr) => (error ? reject(new Error(`ssh ${args.join(' ')}: ${stderr || error.message}`)) : resolve(stdout)))
      }),
    async close() {
      holder.kill('SIGKILL')
      await new Promise((resolve) => holder.once('exit', resolve))
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

function ready(holder: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let said = ''
    const timer = setTimeout(() => reject(new Error(`the namespace holder did not start: ${said}`)), 5_000)
    holder.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) {
        clearTimeout(timer)
        resolve()
      }
    })
    holder.stderr!.on('data', (chunk: Buffer) => (said += chunk.toString()))
    holder.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the namespace holder exited (${code}): ${said}`))
    })
  })
}
