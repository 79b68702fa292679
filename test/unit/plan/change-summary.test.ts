import {describe, expect, it} from 'vitest'

import {summarizeConfigChange} from '../../../src/plan/change-summary.js'

const peer = (key: string, keepalive: number, ips = '10.0.0.9/32') => `\n[Peer]\nPublicKey = ${key}\nAllowedIPs = ${ips}\nPersistentKeepalive = ${keepalive}\n`
const head = (port = 51820) => `# Managed by wgfleet. Local changes are overwritten.\n[Interface]\nAddress = 10.0.0.1/24\nListenPort = ${port}\nPrivateKey = @WGFLEET_PRIVATE_KEY@\n`

describe('summarizeConfigChange', () => {
  it('counts peers added and removed, and groups the same field change across peers', () => {
    const before = head() + peer('A', 15) + peer('B', 15) + peer('C', 15) + peer('D', 25)
    const after = head() + peer('A', 25) + peer('B', 25) + peer('C', 25, '10.0.0.3/32') + peer('E', 25) + peer('F', 25) + peer('G', 25)
    expect(summarizeConfigChange(before, after)).toEqual({
      interfaceFields: [],
      peersAdded: 3,
      peersRemoved: 1,
      fieldChanges: [
        {field: 'PersistentKeepalive', from: '15', to: '25', peers: 3},
        {field: 'AllowedIPs', from: '10.0.0.9/32', to: '10.0.0.3/32', peers: 1},
      ],
    })
  })

  it('names [Interface] fields that changed', () => {
    expect(summarizeConfigChange(head(51820) + peer('A', 25), head(51821) + peer('A', 25)).interfaceFields).toEqual(['ListenPort'])
  })

  it('nothing changed: an empty summary', () => {
    const text = head() + peer('A', 25)
    expect(summarizeConfigChange(text, text)).toEqual({interfaceFields: [], peersAdded: 0, peersRemoved: 0, fieldChanges: []})
  })
})
