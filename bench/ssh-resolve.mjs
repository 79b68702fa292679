// How long resolving N nodes takes with OpenSSH evaluating the config (`ssh -G` per node, cached, at most
// 4 at once): `npm run build && node bench/ssh-resolve.mjs [N]`. Connects nowhere; the hosts are names
// under .invalid that the local ssh config does not know (so each costs one plain `ssh -G`).
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createConfigEvaluator} from '../dist/ssh/evaluate.js'
import {resolveNodeTarget} from '../dist/ssh/target.js'
import {loadInventory} from '../dist/inventory/index.js'

const count = Number(process.argv[2] ?? 100)
const dir = mkdtempSync(join(tmpdir(), 'wgfleet-resolve-bench-'))
const sections = Array.from({length: count}, (_, i) => `[node-${i + 1}]\nhost = host-${i + 1}.fleet.invalid\naddress = 10.0.${Math.floor((i + 1) / 250)}.${((i + 1) % 250) + 1}\n`)
writeFileSync(join(dir, 'inventory.ini'), `[network]\ncidr = 10.0.0.0/16\n\n[ssh]\nuser = root\n\n${sections.join('\n')}`)
const fleet = await loadInventory(join(dir, 'inventory.ini'))
for (let run = 1; run <= 3; run++) {
  const evaluator = createConfigEvaluator()
  const t0 = performance.now()
  await Promise.all(fleet.nodes.map((node) => resolveNodeTarget(fleet, node, {evaluator})))
  const t1 = performance.now()
  await Promise.all(fleet.nodes.map((node) => resolveNodeTarget(fleet, node, {evaluator})))
  const t2 = performance.now()
  console.log(`run ${run}: ${count} nodes resolved in ${(t1 - t0).toFixed(0)} ms (ssh -G), again from the cache in ${(t2 - t1).toFixed(1)} ms`)
}
rmSync(dir, {recursive: true, force: true})
