import {defineConfig} from 'vitest/config'
import NameOrderSequencer from './test/e2e/sequencer.js'

export default defineConfig({
  test: {
    // Vitest reads the sequencer from the root config only (a project's `sequence.sequencer` is ignored).
    // It orders the e2e project's files by name and leaves every other project's order as it was.
    sequence: {sequencer: NameOrderSequencer},
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          // e2e files share one lab: run them one after another.
          fileParallelism: false,
          // ...in file-name order (00-lab.test.ts first, 99-teardown.test.ts last): see `sequence` below
          testTimeout: 300_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
})
