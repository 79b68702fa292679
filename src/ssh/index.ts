/**
 * src/ssh: the only module that imports ssh2. Everything else imports from here (types included).
 */
export {
  SshError,
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
  resolveSshTarget,
  chooseKnownHostsFile,
  loadSshConfig,
  parseJumpAddress,
  type EndpointSpec,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_SSH_PORT,
  DEFAULT_SSH_USER,
  type SshTarget,
  type ResolveTargetOptions,
} from './target.js'
export {
  connectNode,
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
export {openShell, readUserSshConfig, type OpenShellOptions} from './pool.js'
