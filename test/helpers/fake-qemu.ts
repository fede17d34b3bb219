// Fake QEMU binaries (bash scripts) in a private temp dir, so launcher tests can make QEMU exit,
// hang or print on demand; one workspace per test file, removed after it.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/** A temp dir with a dummy kernel file, and a way to drop scripts into it. */
export interface FakeQemuWorkspace {
  readonly dir: string;
  readonly kernel: string;
  /** Writes an executable bash script `name` with `body`; returns its path. */
  script(name: string, body: string): string;
}

// Registers beforeAll/afterAll for the calling test file and returns the workspace.
export function useFakeQemuWorkspace(tag: string): FakeQemuWorkspace {
  let dir = '';
  const workspace: FakeQemuWorkspace = {
    get dir() {
      return dir;
    },
    get kernel() {
      return join(dir, 'vmlinuz');
    },
    script(name, body) {
      const path = join(dir, name);
      writeFileSync(path, `#!/bin/bash\n${body}\n`);
      chmodSync(path, 0o755);
      return path;
    },
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), `vml-${tag}-`));
    writeFileSync(join(dir, 'vmlinuz'), '');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return workspace;
}
