// The snapshot e2e files' VMs keep their run dirs under a runtime root of the file's own, so a
// new dir there is that file's (a leak), whatever other tests run meanwhile.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { defaultRuntimeRoot } from '../../../launcher/control/runtime-dir.js';

// Points VMLAUNCH_RUNTIME_DIR at a fresh root for this file, removed after its tests.
export function privateRuntimeRoot(tag: string): void {
  const root = mkdtempSync(join(tmpdir(), `vml-${tag}-run-`));
  process.env.VMLAUNCH_RUNTIME_DIR = root;
  afterAll(() => rmSync(root, { recursive: true, force: true }));
}

// The VM run dirs under the runtime root now.
export function runDirs(): string[] {
  try {
    return readdirSync(join(defaultRuntimeRoot(), '.vm'));
  } catch {
    return [];
  }
}
