/**
 * lib.sh's mask_secrets — the one masking routine of every host script that prints config text (probe.sh,
 * doctor.sh, apply.sh's error messages) — run by a real bash over a table of inputs: no secret survives,
 * whatever its spelling; what is not secret comes through unchanged, line for line.
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {loadLib} from '../../../src/remote/scripts.js'
import {BASH, OLD_KEY, PEER_B, PEER_C, PRESHARED_KEY, PRIVATE_KEY} from '../../helpers/host-fakes.js'

/** Secrets that are not key-shaped: only the line rules can catch them. */
const WORDS = ['hunter2-not-a-key', 's3cr3t-psk-text']
const SECRETS = [PRIVATE_KEY, PRESHARED_KEY, OLD_KEY, ...WORDS]
const PRIVATE_MARKER = 'PrivateKey = @WGFLEET_PRIVATE_KEY@'
const PSK_MARKER = 'PresharedKey = @WGFLEET_PRESHARED_KEY@'
const HIDDEN_SETTING = '# (a line setting a secret key, hidden)'

const dir = mkdtempSync(join(tmpdir(), 'wgfleet-mask-'))
const keyfile = join(dir, 'wg0.key')
writeFileSync(keyfile, `${PRIVATE_KEY}\n`)

function mask(text: string, key: string | null = keyfile): string {
  const run = spawnSync(BASH, ['--norc', '-c', `${loadLib()}\nmask_secrets "$1"`, 'mask', key ?? ''], {input: text, encoding: 'utf8', env: {PATH: process.env.PATH}})
  expect(run.stderr).toBe('')
  expect(run.status).toBe(0)
  return run.stdout
}

// [input line, the line that must come out]
const TABLE: Array<[string, string]> = [
  [`PrivateKey = ${PRIVATE_KEY}`, PRIVATE_MARKER],
  [`privatekey=${PRIVATE_KEY}`, PRIVATE_MARKER],
  [`  PRIVATEKEY   =   ${PRIVATE_KEY}  `, PRIVATE_MARKER],
  [`Private Key = ${PRIVATE_KEY}`, PRIVATE_MARKER],
  [`\tPrivateKey\t=\t${PRIVATE_KEY}`, PRIVATE_MARKER],
  [`PrivateKey = ${PRIVATE_KEY}\r`, PRIVATE_MARKER],
  [`PrivateKey=${PRIVATE_KEY}# with a comment`, PRIVATE_MARKER],
  [`PrivateKey = ${WORDS[0]}`, PRIVATE_MARKER],
  // The three leaks doctor.sh had (issue 10, item 11):
  [`#PrivateKey = ${OLD_KEY}`, HIDDEN_SETTING],
  [`PostUp = wg set %i peer ${PEER_B} preshared-key <(echo ${PRESHARED_KEY})`, `PostUp = wg set %i peer (hidden key) preshared-key <(echo (hidden key))`],
  [`Preshared Key = ${WORDS[1]}`, PSK_MARKER],
  // ...and their relatives.
  [`# PrivateKey = ${WORDS[0]}`, HIDDEN_SETTING],
  [`## private key = ${OLD_KEY}`, HIDDEN_SETTING],
  [`;PrivateKey = ${OLD_KEY}`, HIDDEN_SETTING],
  [`  # PresharedKey=${PRESHARED_KEY}`, HIDDEN_SETTING],
  [`PresharedKey = ${PRESHARED_KEY}`, PSK_MARKER],
  [`presharedkey=${PRESHARED_KEY}`, PSK_MARKER],
  [`PRESHARED KEY = ${WORDS[1]}`, PSK_MARKER],
  [`PostUp = echo PresharedKey=${WORDS[1]} >/run/psk`, HIDDEN_SETTING],
  [`Address = 10.0.0.1/24 # PrivateKey = ${WORDS[0]}`, HIDDEN_SETTING],
  [`PostUp = wg set %i private-key /etc/wireguard/wg0.key`, `PostUp = wg set %i private-key /etc/wireguard/wg0.key`],
  // Key-shaped tokens anywhere but a PublicKey line's own key.
  [OLD_KEY, '(hidden key)'],
  [`# old key, kept by hand: ${OLD_KEY}`, '# old key, kept by hand: (hidden key)'],
  [`Endpoint = 203.0.113.2:51820 # psk was ${PRESHARED_KEY}`, 'Endpoint = 203.0.113.2:51820 # psk was (hidden key)'],
  [`x${OLD_KEY}y`, 'x(hidden key)y'],
  [`${PRESHARED_KEY}${OLD_KEY}`, '(hidden key)(hidden key)'],
  [`PublicKey = ${PEER_B}`, `PublicKey = ${PEER_B}`],
  [`publickey=${PEER_C}`, `publickey=${PEER_C}`],
  [`Public Key = ${PEER_B}`, `Public Key = ${PEER_B}`],
  [`PublicKey = ${PEER_B} # psk ${PRESHARED_KEY}`, `PublicKey = ${PEER_B} # psk (hidden key)`],
  [`# ${PEER_C}`, '# (hidden key)'],
  // The private key itself, even where a public key belongs.
  [`PublicKey = ${PRIVATE_KEY}`, '# (line hidden: it holds the private key)'],
  [`# mine: ${PRIVATE_KEY}`, '# (line hidden: it holds the private key)'],
  // A line that would end the block it is printed in.
  ['--- end config', '# (line starting with -- hidden)'],
  ['-- comment', '# (line starting with -- hidden)'],
  // Not secret: unchanged.
  ['[Interface]', '[Interface]'],
  ['# Managed by wgfleet. Local changes are overwritten.', '# Managed by wgfleet. Local changes are overwritten.'],
  ['AllowedIPs = 10.0.0.2/32, 10.0.0.3/32', 'AllowedIPs = 10.0.0.2/32, 10.0.0.3/32'],
  ['PostUp = iptables -t nat -A POSTROUTING -s 10.0.0.0/24 -o eth0 -j MASQUERADE', 'PostUp = iptables -t nat -A POSTROUTING -s 10.0.0.0/24 -o eth0 -j MASQUERADE'],
  ['# node-b', '# node-b'],
  ['', ''],
]

describe('mask_secrets (lib.sh)', () => {
  it.each(TABLE)('%j', (input, expected) => {
    const out = mask(`${input}\n`)
    expect(out).toBe(`${expected}\n`)
    for (const secret of SECRETS) expect(out).not.toContain(secret)
  })

  it('the whole table at once: one line out for each line in, no secret anywhere', () => {
    const out = mask(TABLE.map(([input]) => input).join('\n') + '\n')
    expect(out.split('\n').slice(0, -1)).toEqual(TABLE.map(([, expected]) => expected))
    for (const secret of SECRETS) expect(out).not.toContain(secret)
  })

  it('a last line without a newline is masked too', () => {
    expect(mask(`[Interface]\nPrivateKey = ${PRIVATE_KEY}`)).toBe(`[Interface]\n${PRIVATE_MARKER}\n`)
  })

  it('without a key file (or an unreadable or malformed one): the other rules still hold', () => {
    const input = `PrivateKey = ${PRIVATE_KEY}\n# mine: ${PRIVATE_KEY}\nPublicKey = ${PEER_B}\n`
    const expected = `${PRIVATE_MARKER}\n# mine: (hidden key)\nPublicKey = ${PEER_B}\n`
    expect(mask(input, null)).toBe(expected)
    expect(mask(input, join(dir, 'missing.key'))).toBe(expected)
    const odd = join(dir, 'odd.key')
    writeFileSync(odd, 'a\n') // a one-letter "key" must not hide every line with an `a` in it
    expect(mask(input, odd)).toBe(expected)
  })
})
