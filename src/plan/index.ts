export * from './model.js'
export {assertDistinctAllowedIps, DEFAULT_ROUTE, hostRoute, type KnownHosts, planFleet, planNodes, type PlanOptions} from './planner.js'
export {
  interfaceHooks,
  type InterfaceHooks,
  isInterfaceName,
  type RenderableNode,
  renderInterfaceSection,
  renderNodeConfig,
  renderPeerSection,
} from './render.js'
export {diffConfig, maskSecrets} from './diff.js'
export {configDigest, planPeerAdd, type AllowedIpsChange, type Newcomer, type PeerAddDecision, type PeerAddPlan, type PeerAddRefusal, type PeerToAdd} from './peer-add.js'
export {summarizeConfigChange, type ConfigChangeSummary, type FieldChange} from './change-summary.js'
export {
  classifyConfigChange,
  type ConfigChange,
  type ConfigSection,
  parseRenderedConfig,
  type ParsedConfig,
} from './parse-config.js'
export {directPeers, endpointOf, exitNodeOf, formatEndpoint, hasEndpoint, type NodeLinks, type PeerLink, planLinks, publicRelays} from './topology.js'
export {existingPeerSections, type ExistingSectionLookup} from './existing-peers.js'
export {judgeKeys, type KeyRefusal, type KeyReport, type KeyTrust, type PinnedKey, type TrustedKey, type TrustWarning} from './key-trust.js'
export {buildMeshGraph, type GraphEdge, type GraphNode, type GraphRole, type MeshGraph} from './graph.js'
export {decideHosts, hostsBlockDigest, hostsMarkers, renderHostsBlock, type HostsAction} from './hosts-file.js'
export {entriesWithoutKey, planPresharedKeys, type PresharedKeyDigest, type PresharedKeyInput, type PresharedKeyPair, type PresharedKeyWork} from './preshared-keys.js'
