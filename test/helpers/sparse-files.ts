// Sparse files for tests of RAM image copies: a temp dir per test, files of a given size with
// data written at given offsets and holes elsewhere.
import { ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';

export const MiB = 1 << 20;

// A fresh temp dir for each test of the file (removed after it); returns its path's getter.
export function tempDirPerTest(prefix: string): () => string {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  return () => dir;
}

// Creates `path` (read-write fd returned, the caller closes it): `size` bytes, each [offset,
// data] written, holes elsewhere.
export function sparseFile(path: string, size: number, writes: Array<[number, Buffer]>): number {
  const fd = openSync(path, 'w+');
  ftruncateSync(fd, size);
  for (const [offset, data] of writes) writeSync(fd, data, 0, data.length, offset);
  return fd;
}
