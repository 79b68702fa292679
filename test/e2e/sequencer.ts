// Runs the e2e files in file-name order (00-lab.test.ts first, 99-teardown.test.ts last). Vitest's
// default order puts failed and slow files first, which would run the teardown before the others.
// Files of other projects keep the default order.
import {basename} from 'node:path'
import {BaseSequencer, type TestSpecification} from 'vitest/node'

export const NAME_ORDERED_PROJECTS = new Set(['e2e'])

export default class NameOrderSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    const isNamed = (s: TestSpecification) => NAME_ORDERED_PROJECTS.has(s.project.name)
    const named = sorted.filter(isNamed).sort((a, b) => {
      const ka = basename(a.moduleId)
      const kb = basename(b.moduleId)
      return ka < kb ? -1 : ka > kb ? 1 : a.moduleId < b.moduleId ? -1 : a.moduleId > b.moduleId ? 1 : 0
    })
    // put the name-ordered files back into the slots their project had in the default order
    let i = 0
    return sorted.map((s) => (isNamed(s) ? named[i++]! : s))
  }
}
