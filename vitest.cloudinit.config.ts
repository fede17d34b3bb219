// Vitest for the cloud-init guest's e2e only (docs/cloud-init-guest.md): a separate step because
// systemd and cloud-init boot slowly under TCG; run after the main suite by scripts/test.sh.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/e2e/cloudinit/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 1_800_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
