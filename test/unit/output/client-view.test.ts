/** The client views: the config printed once with its QR code (the same data, module for module), JSON, list. */
import QRCode from 'qrcode'
import {describe, expect, it} from 'vitest'

import {clientAddToJson, clientListToJson, renderClientAddText, renderClientListText, renderQrText} from '../../../src/output/client-view.js'
import type {ClientAddResult} from '../../../src/services/client.js'
import {qrLines, qrModules} from '../../fixtures/qr-text.js'

const CONFIG = `# wgfleet client phone. Keep this file private: it holds the client's private key, which wgfleet does not keep.
[Interface]
PrivateKey = QPyV3tqTNXBb3Ypc1D4yqj8bW5F9kyF+K2UGdVhxm1o=
Address = 10.0.0.50/32

# node-a
[Peer]
PublicKey = e7haZgbEOshktuz+iJTZdPLydJP0AE0kMdffeafokig=
Endpoint = 203.0.113.1:51820
AllowedIPs = 10.0.0.0/24
PersistentKeepalive = 25
`
const CLIENT = {name: 'phone', line: 20, publicKey: 'mK2PaJ6sBcBmUqOxN7DFoMPL1fBmIdN0QGvYGpS1uHk=', address: '10.0.0.50', via: ['node-a'], fullTunnel: false}
const REPORT = {command: 'client add', dryRun: false, result: 'ok', durationMs: 1200, interface: 'wg0', nodes: [{name: 'node-a', result: 'changed', steps: {}}], warnings: []} as unknown as ClientAddResult['report']
const RESULT: ClientAddResult = {client: CLIENT, config: CONFIG, output: null, report: REPORT}

describe('client add text', () => {
  it('prints the config once, then a QR code of exactly that config (module for module)', async () => {
    const text = await renderClientAddText(RESULT, {color: false})
    expect(text.split(CONFIG.trimEnd()).length - 1).toBe(1)
    expect(text).toContain('shown this once')
    const printed = qrModules(qrLines(text))
    const {modules} = QRCode.create(CONFIG, {errorCorrectionLevel: 'L'})
    const margin = 4
    const inner = printed.slice(margin, margin + modules.size).map((row) => row.slice(margin, margin + modules.size))
    const expected = Array.from({length: modules.size}, (_, y) => Array.from({length: modules.size}, (_, x) => Boolean(modules.get(y, x))))
    expect(inner).toEqual(expected)
    // The quiet zone is light all around.
    expect(printed.slice(0, margin).flat().some(Boolean)).toBe(false)
  })

  it('with colour: black on white through ANSI (what a phone reads on any terminal); without: no escape at all', async () => {
    expect(await renderQrText(CONFIG, {color: true})).toContain('\u001b[47m')
    expect(await renderQrText(CONFIG, {color: false})).not.toContain('\u001b')
  })

  it('--output: no key printed, only where it is', async () => {
    const text = await renderClientAddText({...RESULT, config: null, output: '/home/me/phone.conf'}, {color: false})
    expect(text).not.toContain('PrivateKey')
    expect(qrLines(text)).toEqual([])
    expect(text).toMatch(/written to \/home\/me\/phone.conf \(mode 0600\)/)
  })

  it('--json: one document with the client, the config and the converge result', () => {
    expect(clientAddToJson(RESULT)).toMatchObject({client: {name: 'phone', address: '10.0.0.50', via: ['node-a'], fullTunnel: false, publicKey: CLIENT.publicKey}, config: CONFIG, output: null, result: 'ok', command: 'client add'})
  })
})

describe('client list', () => {
  it('a row per client; an empty inventory says how to add one', () => {
    expect(renderClientListText([CLIENT, {...CLIENT, name: 'laptop', address: '10.0.0.51', via: ['node-b', 'node-a'], fullTunnel: true}])).toBe(
      `client  address    via             tunnel   public key\nphone   10.0.0.50  node-a          overlay  ${CLIENT.publicKey}\nlaptop  10.0.0.51  node-b, node-a  full     ${CLIENT.publicKey}\n`,
    )
    expect(renderClientListText([])).toMatch(/No clients/)
    expect(clientListToJson([CLIENT])).toEqual({clients: [{name: 'phone', address: '10.0.0.50', publicKey: CLIENT.publicKey, via: ['node-a'], fullTunnel: false}]})
  })
})
