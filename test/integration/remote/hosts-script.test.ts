/**
 * Contract of src/remote/hosts.sh (hosts_file = true), the digest probe.sh reports, and teardown.sh's
 * cleanup: the real scripts under a real bash in a host sandbox (its own /etc), driven by the real step
 * functions. Proves: the block replaced or added at the end and every other line kept as it was, owner and
 * mode kept, written atomically (nothing left beside it), removed on request and by teardown, refused when
 * the markers do not pair up, and the probe's digest equal to the one wgfleet computes for the same block.
 */
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {hostsBlockDigest, renderHostsBlock} from '../../../src/plan/index.js'
import {loadScript} from '../../../src/remote/scripts.js'
import {probeHost, writeHostsBlock} from '../../../src/tasks/host-steps.js'
import {HostSandbox} from '../../helpers/host-sandbox.js'
import {fleet, SCENARIO} from '../../unit/plan/fixtures.js'

const BLOCK = renderHostsBlock(fleet(SCENARIO, {hostsFile: {domain: 'wg'}}))!
const MACHINE = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n# the admin\'s own line\n192.168.7.7 printer\n'

let box: HostSandbox
beforeEach(() => {
  box = new HostSandbox()
  box.write('/etc/hosts', MACHINE, 0o644)
})
afterEach(() => box.destroy())

const leftovers = () => box.sh('ls -a /etc | grep "^hosts\\.wgfleet" || true').stdout.split('\n').filter(Boolean)

describe('hosts.sh', () => {
  it('adds the block at the end; every other line as it was; mode kept; nothing left beside it', async () => {
    expect(await writeHostsBlock(box.shell(), 'wg0', 'write', BLOCK)).toBe('written')
    expect(box.read('/etc/hosts')).toBe(MACHINE + BLOCK)
    expect(box.stat('/etc/hosts').mode).toBe('644')
    expect(leftovers()).toEqual([])
  })

  it('replaces the block where it is, and says unchanged when it is already the planned one', async () => {
    const old = '# BEGIN wgfleet wg0\n10.0.0.9 gone\n# END wgfleet wg0\n'
    box.write('/etc/hosts', `127.0.0.1 localhost\n${old}192.168.7.7 printer\n`, 0o640)
    expect(await writeHostsBlock(box.shell(), 'wg0', 'write', BLOCK)).toBe('written')
    expect(box.read('/etc/hosts')).toBe(`127.0.0.1 localhost\n192.168.7.7 printer\n${BLOCK}`)
    expect(box.stat('/etc/hosts').mode).toBe('640')
    expect(await writeHostsBlock(box.shell(), 'wg0', 'write', BLOCK)).toBe('unchanged')
  })

  it('keeps another interface\'s block, and a file without a final newline stays whole', async () => {
    const other = '# BEGIN wgfleet wg1\n10.9.0.1 far\n# END wgfleet wg1\n'
    box.write('/etc/hosts', `127.0.0.1 localhost\n${other}192.168.7.7 printer`, 0o644)
    await writeHostsBlock(box.shell(), 'wg0', 'write', BLOCK)
    expect(box.read('/etc/hosts')).toBe(`127.0.0.1 localhost\n${other}192.168.7.7 printer\n${BLOCK}`)
  })

  it('remove: only the block goes', async () => {
    box.write('/etc/hosts', MACHINE + BLOCK, 0o644)
    expect(await writeHostsBlock(box.shell(), 'wg0', 'remove', '')).toBe('removed')
    expect(box.read('/etc/hosts')).toBe(MACHINE)
  })

  it('markers that do not pair up: refused with the fix, /etc/hosts untouched', async () => {
    const cut = `${MACHINE}# BEGIN wgfleet wg0\n10.0.0.1 node-a\n`
    box.write('/etc/hosts', cut, 0o644)
    await expect(writeHostsBlock(box.shell(), 'wg0', 'write', BLOCK)).rejects.toThrow(/fix the block by hand/)
    expect(box.read('/etc/hosts')).toBe(cut)
  })

  it('a block cut short on the way, or one without its markers: refused (exit 2), nothing written', () => {
    const short = box.run(loadScript('hosts'), ['wg0', 'write', String(BLOCK.length + 5)], {input: BLOCK})
    expect(short.code).toBe(2)
    const bare = box.run(loadScript('hosts'), ['wg0', 'write', '15'], {input: '10.0.0.1 evil\n'})
    expect(bare.code).toBe(2)
    expect(box.read('/etc/hosts')).toBe(MACHINE)
  })
})

describe('the probe\'s digest of the block', () => {
  it('none without a block; with one, exactly the digest wgfleet computes for the planned text', async () => {
    expect((await probeHost(box.shell(), 'wg0')).hostsBlock).toBe('none')
    await writeHostsBlock(box.shell(), 'wg0', 'write', BLOCK)
    expect((await probeHost(box.shell(), 'wg0')).hostsBlock).toBe(hostsBlockDigest(BLOCK))
  })

  it('only a whole marker line of this interface counts: another interface\'s block, a longer line, the first line', async () => {
    box.write('/etc/hosts', `${MACHINE}# BEGIN wgfleet wg1\n10.9.0.1 far\n# END wgfleet wg1\n# BEGIN wgfleet wg0 (old)\n`, 0o644)
    expect((await probeHost(box.shell(), 'wg0')).hostsBlock).toBe('none')
    box.write('/etc/hosts', `${BLOCK}${MACHINE}`, 0o644)
    expect((await probeHost(box.shell(), 'wg0')).hostsBlock).toBe(hostsBlockDigest(BLOCK))
  })

  it('a large /etc/hosts (8 KiB and more: grep reads it, not bash): the same answers', async () => {
    const big = Array.from({length: 400}, (_, i) => `10.1.${i >> 8}.${i & 255}\thost-${i}.example.internal host-${i}\n`).join('')
    expect(big.length).toBeGreaterThan(8192)
    box.write('/etc/hosts', big, 0o644)
    expect((await probeHost(box.shell(), 'wg0')).hostsBlock).toBe('none')
    box.write('/etc/hosts', big + BLOCK, 0o644)
    expect((await probeHost(box.shell(), 'wg0')).hostsBlock).toBe(hostsBlockDigest(BLOCK))
    box.write('/etc/hosts', BLOCK + big, 0o644)
    expect((await probeHost(box.shell(), 'wg0')).hostsBlock).toBe(hostsBlockDigest(BLOCK))
  })

  it('no /etc/hosts at all: none', async () => {
    box.sh('rm -f /etc/hosts')
    expect((await probeHost(box.shell(), 'wg0')).hostsBlock).toBe('none')
  })
})

describe('teardown.sh', () => {
  it('takes the block out of /etc/hosts (the node left the fleet), every other line kept', () => {
    box.write('/etc/hosts', MACHINE + BLOCK, 0o644)
    const run = box.run(loadScript('teardown'), ['wg0', '51820', 'no'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/^hosts=removed$/m)
    expect(box.read('/etc/hosts')).toBe(MACHINE)
  })
})
