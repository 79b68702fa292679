/**
 * Renderers of a FleetStatus: the table (stable columns, one row per unreachable node, final verdict
 * line, no colour unless asked), the JSON document (docs/design.md §1 shape) and the Prometheus exposition.
 */
import {describe, expect, it} from 'vitest'

import {
  escapeLabelValue,
  formatBytes,
  formatHandshake,
  renderStatus,
  renderStatusPrometheus,
  renderStatusTable,
  statusToJson,
} from '../../../src/output/status-view.js'
import type {FleetStatus, NodeStatus, PeerStatus} from '../../../src/judges/status.js'

const NOW = 1_700_000_000
const KEY_B = '1IwmEcmejcRhDJGSJdkx8mzNtoDOGuh1/sHRT8f1jH0='
const KEY_C = '/Xl9WfhRIIVm6MV9C83TXQgy5oiNF9YlMuQSIWKPWDk='
const KEY_X = 'c3RyYW5nZXJzdHJhbmdlcnN0cmFuZ2Vyc3RyYW5nZXI='

function peerStatus(over: Partial<PeerStatus>): PeerStatus {
  return {name: 'node-b', publicKey: KEY_B, expected: true, endpoint: '203.0.113.2:51820', latestHandshake: NOW - 12, ageSeconds: 12, rxBytes: 1536, txBytes: 3 * 1024 * 1024, keepalive: 25, state: 'ok', ...over}
}

function node(over: Partial<NodeStatus>): NodeStatus {
  return {name: 'node-a', reachable: true, interfaceUp: true, nodeTime: NOW, listenPort: 51820, publicKey: null, peers: [], ...over}
}

const HEALTHY: FleetStatus = {
  healthy: true,
  problems: 0,
  staleAfterSeconds: 180,
  checkedAt: NOW,
  nodes: [
    node({name: 'node-a', peers: [peerStatus({}), peerStatus({name: 'node-c', publicKey: KEY_C, endpoint: null, latestHandshake: NOW - 200, ageSeconds: 200, rxBytes: 0, txBytes: 92, keepalive: 0, state: 'idle'})]}),
  ],
}

const UNHEALTHY: FleetStatus = {
  healthy: false,
  problems: 5,
  staleAfterSeconds: 180,
  checkedAt: NOW,
  nodes: [
    node({
      name: 'node-a',
      peers: [
        peerStatus({state: 'stale', latestHandshake: NOW - 400, ageSeconds: 400}),
        peerStatus({name: 'node-c', publicKey: KEY_C, endpoint: null, latestHandshake: null, ageSeconds: null, rxBytes: 0, txBytes: 0, state: 'never'}),
        peerStatus({name: 'node-d', publicKey: KEY_C, endpoint: null, latestHandshake: null, ageSeconds: null, rxBytes: null, txBytes: null, state: 'missing-peer'}),
        peerStatus({name: null, publicKey: KEY_X, expected: false, state: 'unknown-peer'}),
      ],
    }),
    node({name: 'node-b', interfaceUp: false, problem: {kind: 'interface-absent', message: 'interface wg0 does not exist', hint: 'run `wgfleet init`'}, peers: [peerStatus({name: 'node-a', state: 'down', rxBytes: null, txBytes: null, endpoint: null, latestHandshake: null, ageSeconds: null})]}),
    node({name: 'node-c', reachable: false, interfaceUp: false, nodeTime: null, listenPort: null, problem: {kind: 'unreachable', message: 'cannot reach 203.0.113.3:22: connection refused', hint: 'check that the host is up'}, peers: [peerStatus({name: 'node-a', state: 'unreachable', rxBytes: null, txBytes: null, endpoint: null, latestHandshake: null, ageSeconds: null})]}),
  ],
}

describe('formatters', () => {
  it('handshake ages', () => {
    expect(formatHandshake(null)).toBe('never')
    expect(formatHandshake(0)).toBe('0 s ago')
    expect(formatHandshake(12)).toBe('12 s ago')
    expect(formatHandshake(59)).toBe('59 s ago')
    expect(formatHandshake(60)).toBe('1 min ago')
    expect(formatHandshake(3 * 60 + 59)).toBe('3 min ago')
    expect(formatHandshake(2 * 3600 + 5)).toBe('2 h ago')
    expect(formatHandshake(3 * 86_400)).toBe('3 d ago')
  })

  it('bytes, binary units', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(1023)).toBe('1023 B')
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatBytes(12 * 1024 * 1024)).toBe('12 MiB')
    expect(formatBytes(5 * 1024 ** 3 + 1)).toBe('5.0 GiB')
    expect(formatBytes(2 * 1024 ** 6)).toBe('2048 PiB')
  })
})

describe('table', () => {
  it('a healthy fleet: fixed columns, aligned, ends in "healthy"', () => {
    expect(renderStatusTable(HEALTHY)).toBe(
      [
        'node    peer    endpoint           handshake  received  sent     keepalive  state',
        'node-a  node-b  203.0.113.2:51820  12 s ago   1.5 KiB   3.0 MiB  25 s       ok',
        'node-a  node-c  -                  3 min ago  0 B       92 B     off        idle',
        '',
        'healthy',
        '',
      ].join('\n'),
    )
  })

  it('an unhealthy fleet: every state, one row per unreachable or down node with its reason, hints, the count', () => {
    const text = renderStatusTable(UNHEALTHY)
    const lines = text.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^node +peer +endpoint +handshake +received +sent +keepalive +state$/)
    expect(lines.slice(1, 7).map((l) => l.split(/ {2,}/))).toEqual([
      ['node-a', 'node-b', '203.0.113.2:51820', '6 min ago', '1.5 KiB', '3.0 MiB', '25 s', 'stale'],
      ['node-a', 'node-c', '-', 'never', '0 B', '0 B', '25 s', 'never'],
      ['node-a', 'node-d', '-', '-', '-', '-', '25 s', 'missing-peer'],
      ['node-a', KEY_X, '203.0.113.2:51820', '12 s ago', '1.5 KiB', '3.0 MiB', '25 s', 'unknown-peer'],
      ['node-b', '-', '-', '-', '-', '-', '-', 'down: interface wg0 does not exist'],
      ['node-c', '-', '-', '-', '-', '-', '-', 'unreachable: cannot reach 203.0.113.3:22: connection refused'],
    ])
    expect(lines).toContain('node-b: hint: run `wgfleet init`')
    expect(lines).toContain('node-c: hint: check that the host is up')
    expect(lines.at(-1)).toBe('UNHEALTHY: 5 problems')
  })

  it('"1 problem", singular; a node with no peers says so', () => {
    const one: FleetStatus = {...HEALTHY, healthy: false, problems: 1, nodes: [node({name: 'solo'})]}
    expect(renderStatusTable(one).trimEnd().split('\n').at(-1)).toBe('UNHEALTHY: 1 problem')
    expect(renderStatusTable(one)).toMatch(/^solo +- +- +- +- +- +- +no peers$/m)
  })

  it('no escape codes unless colour is asked for; no trailing spaces', () => {
    const plain = renderStatusTable(UNHEALTHY)
    expect(plain).not.toMatch(/\u001B\[/)
    expect(plain).not.toMatch(/ +$/m)
    const coloured = renderStatusTable(UNHEALTHY, {color: true})
    expect(coloured).toMatch(/\u001B\[/)
    // Colour never shifts the columns: stripped, it is the plain table.
    expect(coloured.replace(/\u001B\[[0-9;]*m/g, '')).toBe(plain)
  })

  it('is deterministic', () => {
    expect(renderStatus(UNHEALTHY, 'table')).toBe(renderStatus(UNHEALTHY, 'table'))
  })
})

describe('JSON', () => {
  it('has the documented shape (docs/design.md §1): healthy, nodes[name, reachable, interfaceUp, error?, peers[...]]', () => {
    const doc = JSON.parse(renderStatus(UNHEALTHY, 'json'))
    expect(doc.healthy).toBe(false)
    expect(doc.nodes.map((n: {name: string}) => n.name)).toEqual(['node-a', 'node-b', 'node-c'])
    for (const n of doc.nodes) {
      expect(n).toHaveProperty('reachable')
      expect(n).toHaveProperty('interfaceUp')
      for (const p of n.peers) {
        expect(Object.keys(p)).toEqual(expect.arrayContaining(['name', 'publicKey', 'endpoint', 'latestHandshake', 'ageSeconds', 'rxBytes', 'txBytes', 'keepalive', 'state']))
      }
    }
    expect(doc.nodes[0]).not.toHaveProperty('error')
    expect(doc.nodes[0].peers[0]).toEqual({
      name: 'node-b', publicKey: KEY_B, endpoint: '203.0.113.2:51820', latestHandshake: NOW - 400, ageSeconds: 400,
      rxBytes: 1536, txBytes: 3 * 1024 * 1024, keepalive: 25, state: 'stale', expected: true,
    })
    expect(doc.nodes[2]).toMatchObject({
      name: 'node-c', reachable: false, interfaceUp: false,
      error: 'cannot reach 203.0.113.3:22: connection refused', errorKind: 'unreachable', hint: 'check that the host is up',
    })
    expect(doc.nodes[2].peers[0].state).toBe('unreachable')
  })

  it('is the same document as statusToJson, one JSON value ending in a newline', () => {
    const text = renderStatus(HEALTHY, 'json')
    expect(text.endsWith('}\n')).toBe(true)
    expect(JSON.parse(text)).toEqual(statusToJson(HEALTHY))
  })
})

describe('Prometheus', () => {
  it('the healthy fleet, exactly', () => {
    expect(renderStatusPrometheus(HEALTHY)).toBe(
      [
        '# HELP wgfleet_status_healthy 1 when every node is reachable with its interface up and every peer is ok or idle.',
        '# TYPE wgfleet_status_healthy gauge',
        'wgfleet_status_healthy 1',
        '# HELP wgfleet_status_problems Problems found: unreachable or down nodes, and peers neither ok nor idle.',
        '# TYPE wgfleet_status_problems gauge',
        'wgfleet_status_problems 0',
        '# HELP wgfleet_status_timestamp_seconds Unix time when this status was taken (the clock of the machine running wgfleet).',
        '# TYPE wgfleet_status_timestamp_seconds gauge',
        `wgfleet_status_timestamp_seconds ${NOW}`,
        '# HELP wgfleet_node_reachable 1 when wgfleet reached the node and read its interface.',
        '# TYPE wgfleet_node_reachable gauge',
        'wgfleet_node_reachable{node="node-a"} 1',
        "# HELP wgfleet_node_interface_up 1 when the node's WireGuard interface is up.",
        '# TYPE wgfleet_node_interface_up gauge',
        'wgfleet_node_interface_up{node="node-a"} 1',
        '# HELP wgfleet_peer_up 1 when the peer is ok (recent handshake) or idle (keepalive off, no recent handshake).',
        '# TYPE wgfleet_peer_up gauge',
        'wgfleet_peer_up{node="node-a",peer="node-b"} 1',
        'wgfleet_peer_up{node="node-a",peer="node-c"} 1',
        "# HELP wgfleet_peer_last_handshake_seconds Unix time of the latest handshake, on the node's clock; 0 = never.",
        '# TYPE wgfleet_peer_last_handshake_seconds gauge',
        `wgfleet_peer_last_handshake_seconds{node="node-a",peer="node-b"} ${NOW - 12}`,
        `wgfleet_peer_last_handshake_seconds{node="node-a",peer="node-c"} ${NOW - 200}`,
        "# HELP wgfleet_peer_handshake_age_seconds Seconds since the latest handshake, against the node's own clock (immune to clock skew); absent when never.",
        '# TYPE wgfleet_peer_handshake_age_seconds gauge',
        'wgfleet_peer_handshake_age_seconds{node="node-a",peer="node-b"} 12',
        'wgfleet_peer_handshake_age_seconds{node="node-a",peer="node-c"} 200',
        '# HELP wgfleet_peer_receive_bytes_total Bytes received from the peer (since the interface came up).',
        '# TYPE wgfleet_peer_receive_bytes_total counter',
        'wgfleet_peer_receive_bytes_total{node="node-a",peer="node-b"} 1536',
        'wgfleet_peer_receive_bytes_total{node="node-a",peer="node-c"} 0',
        '# HELP wgfleet_peer_transmit_bytes_total Bytes sent to the peer (since the interface came up).',
        '# TYPE wgfleet_peer_transmit_bytes_total counter',
        `wgfleet_peer_transmit_bytes_total{node="node-a",peer="node-b"} ${3 * 1024 * 1024}`,
        'wgfleet_peer_transmit_bytes_total{node="node-a",peer="node-c"} 92',
        '',
      ].join('\n'),
    )
  })

  it('unhealthy: peers without a reading get only peer_up 0; never → last handshake 0; unnamed key as label', () => {
    const text = renderStatusPrometheus(UNHEALTHY)
    expect(text).toContain('wgfleet_status_healthy 0\n')
    expect(text).toContain('wgfleet_status_problems 5\n')
    expect(text).toContain('wgfleet_node_reachable{node="node-c"} 0\n')
    expect(text).toContain('wgfleet_node_interface_up{node="node-b"} 0\n')
    expect(text).toContain('wgfleet_peer_up{node="node-a",peer="node-d"} 0\n')
    expect(text).not.toMatch(/wgfleet_peer_receive_bytes_total\{node="node-a",peer="node-d"\}/)
    expect(text).toContain('wgfleet_peer_up{node="node-c",peer="node-a"} 0\n')
    expect(text).toContain('wgfleet_peer_last_handshake_seconds{node="node-a",peer="node-c"} 0\n')
    expect(text).not.toMatch(/wgfleet_peer_handshake_age_seconds\{node="node-a",peer="node-c"\}/)
    expect(text).toContain(`wgfleet_peer_up{node="node-a",peer="${KEY_X}"} 0\n`)
  })

  it('is well-formed: HELP then TYPE once per family, every sample belongs to the family above it', () => {
    const lines = renderStatusPrometheus(UNHEALTHY).trimEnd().split('\n')
    const seen = new Set<string>()
    let family = ''
    for (const [i, line] of lines.entries()) {
      const help = /^# HELP (\S+) /.exec(line)
      if (help) {
        family = help[1]!
        expect(family).toMatch(/^wgfleet_[a-z_]+$/)
        expect(seen.has(family)).toBe(false)
        seen.add(family)
        expect(lines[i + 1]).toMatch(new RegExp(`^# TYPE ${family} (gauge|counter)$`))
        continue
      }
      if (line.startsWith('# TYPE')) continue
      expect(line).toMatch(/^wgfleet_[a-z_]+(\{[a-z_]+="(?:[^"\\\n]|\\["\\n])*"(,[a-z_]+="(?:[^"\\\n]|\\["\\n])*")*\})? -?\d+(\.\d+)?$/)
      expect(line.split(/[{ ]/)[0]).toBe(family)
    }
    expect([...seen]).toEqual(expect.arrayContaining([
      'wgfleet_peer_last_handshake_seconds', 'wgfleet_peer_receive_bytes_total', 'wgfleet_peer_transmit_bytes_total', 'wgfleet_peer_up',
      'wgfleet_node_reachable', 'wgfleet_node_interface_up', 'wgfleet_status_healthy', 'wgfleet_status_timestamp_seconds',
    ]))
    const types = Object.fromEntries(lines.filter((l) => l.startsWith('# TYPE')).map((l) => l.split(' ').slice(2)))
    expect(types).toMatchObject({wgfleet_peer_receive_bytes_total: 'counter', wgfleet_peer_transmit_bytes_total: 'counter', wgfleet_peer_last_handshake_seconds: 'gauge'})
  })

  it('escapes label values: backslash, double quote, line feed', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd')
    const odd: FleetStatus = {...HEALTHY, nodes: [node({name: 'we"ird\\node\nx', peers: [peerStatus({name: 'p"1'})]})]}
    const text = renderStatusPrometheus(odd)
    expect(text).toContain('wgfleet_node_reachable{node="we\\"ird\\\\node\\nx"} 1\n')
    expect(text).toContain('wgfleet_peer_up{node="we\\"ird\\\\node\\nx",peer="p\\"1"} 1\n')
  })

  it('keeps series unique: an unknown key named like an expected peer is labelled by its key', () => {
    const rekeyed: FleetStatus = {
      ...UNHEALTHY,
      nodes: [node({peers: [peerStatus({state: 'missing-peer', rxBytes: null, txBytes: null}), peerStatus({publicKey: KEY_X, expected: false, state: 'unknown-peer'})]})],
    }
    const text = renderStatusPrometheus(rekeyed)
    expect(text).toContain('wgfleet_peer_up{node="node-a",peer="node-b"} 0\n')
    expect(text).toContain(`wgfleet_peer_up{node="node-a",peer="${KEY_X}"} 0\n`)
  })
})

describe('what hosts said never reaches the terminal raw', () => {
  it('escapes control characters in problem messages, hints and endpoints', () => {
    const esc = '\u001b]52;c;cm0gLXJmIH4=\u0007'
    const status: FleetStatus = {
      ...UNHEALTHY,
      nodes: [
        node({name: 'node-a', peers: [peerStatus({endpoint: `203.0.113.2:51820${esc}`})]}),
        node({name: 'node-b', interfaceUp: false, problem: {kind: 'wg-error', message: `wg said ${esc}`, hint: `hint ${esc}`}, peers: []}),
      ],
    }
    const text = renderStatusTable(status, {color: false})
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/)
    expect(text).toContain('wg said \\u001b]52')
    expect(text).toContain('node-b: hint: hint \\u001b]52')
  })
})
