/** Reading a node's own [Peer] section for one peer from its current config (host output: strict). */
import {describe, expect, it} from 'vitest'

import {existingPeerSections} from '../../../src/plan/existing-peers.js'
import {KEYS} from './fixtures.js'

const CONFIG = `# Managed by wgfleet. Local changes are overwritten.
[Interface]
Address = 10.0.0.1/24
ListenPort = 51820
PrivateKey = @WGFLEET_PRIVATE_KEY@

# node-b
[Peer]
PublicKey = ${KEYS['node-b']}
Endpoint = 2.2.2.2:51820
AllowedIPs = 10.0.0.2/32
PersistentKeepalive = 25

# node-c
[Peer]
PublicKey = ${KEYS['node-c']}
AllowedIPs = 10.0.0.3/32, 10.0.0.4/32
`

const replaceIn = (from: string, to: string) => CONFIG.replace(from, to)
/** NAME's section, or none. */
const existingPeerSection = (config: string, name: string) => existingPeerSections(config).get(name) ?? {kind: 'none'}

describe('existingPeerSections', () => {
  it('finds a section and reads its values; the lines are kept exactly', () => {
    expect(existingPeerSection(CONFIG, 'node-b')).toEqual({
      kind: 'found',
      section: {
        lines: ['# node-b', '[Peer]', `PublicKey = ${KEYS['node-b']}`, 'Endpoint = 2.2.2.2:51820', 'AllowedIPs = 10.0.0.2/32', 'PersistentKeepalive = 25'],
        publicKey: KEYS['node-b'],
        endpoint: '2.2.2.2:51820',
        allowedIps: ['10.0.0.2/32'],
        keepalive: 25,
      },
    })
  })

  it('the last section, up to the end of the file; no endpoint and no keepalive', () => {
    expect(existingPeerSection(CONFIG, 'node-c')).toEqual({
      kind: 'found',
      section: {lines: ['# node-c', '[Peer]', `PublicKey = ${KEYS['node-c']}`, 'AllowedIPs = 10.0.0.3/32, 10.0.0.4/32'], publicKey: KEYS['node-c'], endpoint: null, allowedIps: ['10.0.0.3/32', '10.0.0.4/32'], keepalive: 0},
    })
  })

  it('none for a peer the config has no section for (a name is matched whole)', () => {
    expect(existingPeerSection(CONFIG, 'node-d')).toEqual({kind: 'none'})
    expect(existingPeerSection(CONFIG, 'node')).toEqual({kind: 'none'})
    expect(existingPeerSection(replaceIn('# node-b\n[Peer]', '# node-b\n\n[Peer]'), 'node-b')).toEqual({kind: 'none'})
  })

  it('unusable: anything wgfleet does not write, or values that are not what they claim', () => {
    const cases = [
      replaceIn('PersistentKeepalive = 25', 'PersistentKeepalive = 25\nPresharedKey = (hidden key)'), // a secret hidden, not the marker (the marker is kept: preshared-keys.test)
      replaceIn('PersistentKeepalive = 25', 'PostUp = reboot'),
      replaceIn('PersistentKeepalive = 25', '# a note'),
      replaceIn(`PublicKey = ${KEYS['node-b']}`, 'PublicKey = (hidden key)'),
      replaceIn(`PublicKey = ${KEYS['node-b']}`, `PublicKey = ${KEYS['node-b']}\r`),
      replaceIn('Endpoint = 2.2.2.2:51820', 'Endpoint = 2.2.2.2:51820; reboot'),
      replaceIn('Endpoint = 2.2.2.2:51820', 'Endpoint = 2.2.2.2:99999'),
      replaceIn('AllowedIPs = 10.0.0.2/32', 'AllowedIPs = 10.0.0.2/33'),
      replaceIn('AllowedIPs = 10.0.0.2/32', 'AllowedIPs = 10.0.0.2'),
      replaceIn('AllowedIPs = 10.0.0.2/32', 'AllowedIPs = 10.0.0.2/32\nAllowedIPs = 10.0.0.9/32'), // a key twice
      replaceIn('PersistentKeepalive = 25', 'PersistentKeepalive = off'),
      replaceIn('AllowedIPs = 10.0.0.2/32\n', ''), // no AllowedIPs
      CONFIG + '\n# node-b\n[Peer]\nPublicKey = ' + KEYS['node-e'] + '\nAllowedIPs = 10.0.0.2/32\n', // two sections for one name
    ]
    for (const config of cases) expect(existingPeerSection(config, 'node-b'), config).toEqual({kind: 'unusable'})
  })

  it('every section in one pass, by name', () => {
    expect([...existingPeerSections(CONFIG).keys()]).toEqual(['node-b', 'node-c'])
  })

  it('endpoints as wgfleet writes them: IPv4, [IPv6], a host name', () => {
    for (const endpoint of ['[2001:db8::2]:51820', 'node-b.example.com:4500']) {
      const found = existingPeerSection(replaceIn('Endpoint = 2.2.2.2:51820', `Endpoint = ${endpoint}`), 'node-b')
      expect(found.kind === 'found' && found.section.endpoint).toBe(endpoint)
    }
  })
})
