// Copies host-side shell scripts (src/remote/*.sh, the shared lib.sh among them) next to the compiled code: they are read at run time
// and sent to hosts through stdin, so they must ship with dist/.
import {cpSync, existsSync, mkdirSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

const from = 'src/remote'
const to = 'dist/remote'
if (existsSync(from)) {
  mkdirSync(to, {recursive: true})
  for (const f of readdirSync(from)) if (f.endsWith('.sh')) cpSync(join(from, f), join(to, f))
}
