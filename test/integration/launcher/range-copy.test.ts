import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataRanges } from '../../../native/index.js';
import { copyRanges } from '../../../launcher/snapshot/range-copy.js';
import { MiB, sparseFile, tempDirPerTest } from '../../helpers/sparse-files.js';

const dir = tempDirPerTest('vml-rcopy-');

// A 64 MiB sparse file with random data scattered in it, and an empty copy of its size.
function files(): { from: number; to: number; source: string; target: string } {
  const source = join(dir(), 'image');
  const target = join(dir(), 'copy');
  const from = sparseFile(source, 64 * MiB, [
    [0, randomBytes(4096)],
    [3 * MiB + 512, randomBytes(5 * MiB)],
    [40 * MiB, randomBytes(12288)],
    [64 * MiB - 4096, randomBytes(4096)],
  ]);
  const to = sparseFile(target, 64 * MiB, []);
  return { from, to, source, target };
}

describe('copyRanges', () => {
  it('copies every data range to the same offsets and writes no hole', async () => {
    const f = files();
    try {
      await copyRanges(f.from, f.to, dataRanges(f.from)).done;
      expect(readFileSync(f.target).equals(readFileSync(f.source))).toBe(true);
      expect(fstatSync(f.to).blocks).toBeLessThanOrEqual(fstatSync(f.from).blocks);
      expect(fstatSync(f.to).blocks * 512).toBeLessThan(8 * MiB);
    } finally {
      closeSync(f.from);
      closeSync(f.to);
    }
  });

  it('stop() ends a copy early and waits for what was in flight', async () => {
    const f = files();
    try {
      const copy = copyRanges(f.from, f.to, dataRanges(f.from));
      await copy.stop();
      // Nothing is pending on the fds any more: closing them now cannot race a write.
      await expect(copy.done).resolves.toBeUndefined();
      // Four lanes had one chunk each under way; the rest (nine chunks in all) was never copied.
      expect(readFileSync(f.target).equals(readFileSync(f.source))).toBe(false);
    } finally {
      closeSync(f.from);
      closeSync(f.to);
    }
  });

  it('reports a failed write once no lane is still reading or writing', async () => {
    const f = files();
    const readOnly = openSync(f.target, 'r');
    try {
      const copy = copyRanges(f.from, readOnly, dataRanges(f.from));
      await expect(copy.done).rejects.toMatchObject({ code: 'EBADF' });
    } finally {
      closeSync(f.from);
      closeSync(f.to);
      closeSync(readOnly);
    }
  });

  it('refuses a source shorter than its ranges say', async () => {
    const f = files();
    try {
      const copy = copyRanges(f.from, f.to, [[64 * MiB - 4096, 8192]]);
      await expect(copy.done).rejects.toThrow(/ended at/);
    } finally {
      closeSync(f.from);
      closeSync(f.to);
    }
  });
});
