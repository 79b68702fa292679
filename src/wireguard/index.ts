export {parseWgDump, parseWgDumpPeerLine, WgDumpError, type WgDumpPeer} from './dump.js'
export {DEFAULT_STALE_AFTER_SECONDS, handshakeAge, handshakeState, type HandshakeState} from './handshake.js'
export {isWireGuardKey} from './keys.js'
