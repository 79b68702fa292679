/**
 * src/ssh: the only module that imports ssh2. Everything else imports from here (types included).
 */
export {
  SshError,
  SshConfigError,
  HostKeyUnknownError,
  HostKeyChangedError,
  OutputLimitError,
  TranscriptRefusedError,
  classifySshError,
  classifySshErrorKind,
  sudoHint,
  type SshErrorKind,
  type SshErrorContext,
  type HostKeyDetails,
} from './errors.js'
export {
  parseKnownHosts,
  parseKnownHostsDetailed,
  readKnownHosts,
  checkHostKey,
  checkHostKeyForName,
  knownHostName,
  knownKeyTypesForName,
  entriesForName,
  entryMatchesName,
  matchHostPattern,
  appendKnownHost,
  appendKnownHostByName,
  knownHostsLine,
  hashKnownHostName,
  holdsHashedNames,
  fingerprintSha256,
  keyTypeOfBlob,
  type KnownHostEntry,
  type KnownHostNames,
  type KnownHostMarker,
  type KnownHostsProblem,
  type ParsedKnownHosts,
  type HostKeyVerdict,
} from './known-hosts.js'
export {
  resolveNodeTarget,
  resolvedHostName,
  nodeQuery,
  chooseTransport,
  parseJumpAddress,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_SSH_PORT,
  type SshTarget,
  type ResolveOptions,
  type StrictHostKeyChecking,
} from './target.js'
export {
  createConfigEvaluator,
  defaultConfigEvaluator,
  closeDefaultConfigEvaluator,
  findOnPath,
  localIdentity,
  parseSshG,
  sshGArguments,
  type ConfigEvaluator,
  type EvaluatorOptions,
  type EvaluatorSource,
  type HostQuery,
  type LocalIdentity,
  type SshOptions,
} from './evaluate.js'
export {ControlDirectory, hopArguments} from './openssh-transport.js'
export {refuseWhatSsh2CannotDo, readKnownHostsFiles} from './transport-check.js'
export {startProxyCommand, type ProxyProcess} from './proxy-command.js'
export {
  connectNode,
  decideNewHostKey,
  type ExecChannel,
  type NewHostKeyDecision,
  DEFAULT_STEP_TIMEOUT_MS,
  PASSPHRASE_ENV,
  type ConnectOptions,
  type SshSession,
} from './session.js'
export {
  SshRemoteShell,
  shellQuote,
  buildCommandLine,
  buildStdin,
  openTranscript,
  TRANSCRIPT_ENV,
  MAX_STDOUT_BYTES,
  MAX_STDERR_BYTES,
  type ShellOptions,
} from './shell.js'
export {openShell, type OpenShellOptions} from './pool.js'
