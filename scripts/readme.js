// Writes the command reference into a README (between <!-- commands --> and <!-- commandsstop -->) with
// oclif's own generator, from the built commands (oclif.manifest.json, written from dist/commands by
// `npm run build`). `npm run readme` (README.md) and the fast suite's check (a copy) both run this, so they
// render alike: the same flags, and a fixed width (oclif wraps at $COLUMNS).
// Usage: node scripts/readme.js [README path, default README.md]
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const readme = resolve(process.argv[2] ?? join(root, 'README.md'))
if (!existsSync(join(root, 'oclif.manifest.json')) || !existsSync(join(root, 'dist', 'commands'))) {
  console.error('no built commands: run `npm run build` first')
  process.exit(1)
}
const oclif = join(dirname(createRequire(import.meta.url).resolve('oclif/package.json')), 'bin', 'run.js')
// Not NODE_ENV=test or development: oclif would look for the TypeScript sources instead of the build.
const {NODE_ENV: _ignored, ...env} = process.env
const result = spawnSync(process.execPath, [oclif, 'readme', '--no-source-links', '--readme-path', readme], {
  cwd: root,
  env: {...env, COLUMNS: '120', OCLIF_SKIP_NEW_VERSION_CHECK: 'true'},
  stdio: ['ignore', 'inherit', 'inherit'],
})
process.exit(result.status ?? 1)
