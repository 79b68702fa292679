/**
 * The inventory: INI text → validated Fleet (pure, apart from reading the file in load.ts).
 */
export type * from './model.js'
export {SSH_TRANSPORTS} from './model.js'
export {parseInventory, validateNewNode, validateNewClient, type ClientValues, type NodeValues, type ValidateNewNodeOptions} from './parse.js'
export {loadInventory, readInventoryText, describeReadError} from './load.js'
export {nextFreeAddress, renderNodeSection, renderClientSection, appendNodeSection, removeNodeSection} from './edit.js'
export {
  NETWORK_KEYS,
  SSH_KEYS,
  NODE_KEYS,
  CLIENT_KEYS,
  NETWORK_SECTION,
  SSH_SECTION,
  RESERVED_SECTIONS,
  type NetworkKey,
  type SshKey,
  type NodeKey,
} from './keys.js'
export {
  DEFAULT_WIREGUARD_PORT,
  DEFAULT_KEEPALIVE,
  DEFAULT_INTERFACE,
  DEFAULT_SSH_PORT,
} from './sections.js'
export {
  checkHost,
  checkUser,
  checkPath,
  checkPort,
  checkNodeName,
  checkEndpoint,
  checkJump,
  findUnsafeCharacter,
  isLabel,
  resolveInventoryPath,
  type Checked,
} from './values.js'
