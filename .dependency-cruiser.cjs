/**
 * The layering of src/ (docs/architecture.md draws it). `npm test` fails when an import runs against
 * it, naming the rule (test/unit/architecture/layering.test.ts runs dependency-cruiser).
 *
 *   commands → cli → services → {tasks, ssh, state, remote, judges, plan, firewall, inventory} → wireguard → lib
 *   output renders typed results: it reads judges' and services' types, nothing that connects.
 */
const PURE = '^src/(plan|inventory|wireguard|firewall|judges)/'

module.exports = {
  forbidden: [
    {
      name: 'only-ssh-imports-ssh2',
      comment: 'ssh2 is loaded by src/ssh alone (lazily, from services/connections), so plan/--help/status never pay for it and one module owns the SSH protocol.',
      severity: 'error',
      from: {path: '^src/', pathNot: '^src/ssh/'},
      to: {path: 'node_modules/(ssh2|ssh-config)/'},
    },
    {
      name: 'pure-core-does-no-io',
      comment: 'The planner, the inventory model, the judges, the firewall verdict and WireGuard primitives are pure: no SSH, no processes, no listr2, no services.',
      severity: 'error',
      from: {path: PURE},
      to: {path: ['^src/(ssh|services|tasks|output|cli|commands|state)/', 'node_modules/(ssh2|listr2|proper-lockfile)/', '^(node:)?child_process$']},
    },
    {
      name: 'pure-core-reads-no-files',
      comment: 'Only the inventory loader reads files; plans, judges and verdicts get data, not paths.',
      severity: 'error',
      from: {path: PURE, pathNot: '^src/inventory/load\\.ts$'},
      to: {path: '^(node:)?fs(/promises)?$'},
    },
    {
      name: 'lib-is-the-base',
      comment: 'src/lib (errors, exit codes, concurrency, the lock) imports nothing else of src.',
      severity: 'error',
      from: {path: '^src/lib/'},
      to: {path: '^src/', pathNot: '^src/lib/'},
    },
    {
      name: 'no-upward-imports',
      comment: 'Lower rooms never reach services, renderers or the CLI: results flow up, not back down.',
      severity: 'error',
      from: {path: '^src/(ssh|tasks|remote|state|plan|inventory|wireguard|firewall|judges)/'},
      to: {path: '^src/(services|output|cli|commands)/'},
    },
    {
      name: 'services-do-not-render',
      comment: 'Services return typed results; wording and formats live in src/output.',
      severity: 'error',
      from: {path: '^src/services/'},
      to: {path: '^src/(output|cli|commands)/'},
    },
    {
      name: 'output-does-not-connect',
      comment: 'Renderers turn results into text; they never connect, run steps or touch state.',
      severity: 'error',
      from: {path: '^src/output/'},
      // Types of results (a state problem it reports) are fine; code is not.
      to: {path: ['^src/(ssh|tasks|state|cli|commands)/', 'node_modules/(ssh2|listr2)/'], dependencyTypesNot: ['type-only']},
    },
    {
      name: 'commands-are-thin',
      comment: 'A command parses flags, calls one service, renders and sets the exit code.',
      severity: 'error',
      from: {path: '^src/commands/'},
      to: {path: '^src/(ssh|tasks|remote|state|plan|judges|firewall|inventory)/'},
    },
    {
      name: 'no-circular',
      comment: 'Import cycles make the layering meaningless.',
      severity: 'error',
      from: {path: '^src/'},
      to: {circular: true},
    },
  ],
  options: {
    doNotFollow: {path: 'node_modules'},
    tsPreCompilationDeps: true,
    tsConfig: {fileName: 'tsconfig.json'},
    enhancedResolveOptions: {exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js', '.d.ts']},
  },
}
