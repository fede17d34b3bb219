// Vitest: unit, integration (root, netns) and e2e (real guests) tests, in separate processes.
// The cloud-init guest's e2e (test/e2e/cloudinit) is slow under TCG: it is its own step, run
// with vitest.cloudinit.config.ts after this one (scripts/test.sh, docs/cloud-init-guest.md).
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, 'test/e2e/cloudinit/**'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
