import { closeSync, fstatSync, ftruncateSync, openSync, readlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { closeFd, dataRanges, memfdCreate, socketpair } from '../../../native/index.js';
import { MiB, sparseFile, tempDirPerTest } from '../../helpers/sparse-files.js';

const dir = tempDirPerTest('vml-ranges-');

// A sparse file: `size` bytes, data written at each offset (one 4 KiB block of 0x5a).
const sparse = (name: string, size: number, at: number[]): number =>
  sparseFile(
    join(dir(), name),
    size,
    at.map((offset) => [offset, Buffer.alloc(4096, 0x5a)]),
  );

describe('dataRanges', () => {
  it('lists the data of a sparse file and leaves its holes out', () => {
    const fd = sparse('image', 64 * MiB, [0, 8 * MiB, 8 * MiB + 4096, 63 * MiB]);
    try {
      const ranges = dataRanges(fd);
      // Every written block is inside a range, ranges are ordered and apart, and together
      // they are far smaller than the file (the filesystem may round up to its extents).
      for (const offset of [0, 8 * MiB, 8 * MiB + 4096, 63 * MiB]) {
        expect(
          ranges.some(([o, l]) => o <= offset && offset + 4096 <= o + l),
          `${offset}`,
        ).toBe(true);
      }
      for (let i = 1; i < ranges.length; i++) {
        expect(ranges[i]![0]).toBeGreaterThan(ranges[i - 1]![0] + ranges[i - 1]![1] - 1);
      }
      expect(ranges.reduce((sum, [, l]) => sum + l, 0)).toBeLessThan(8 * MiB);
      expect(ranges.at(-1)![0] + ranges.at(-1)![1]).toBeLessThanOrEqual(64 * MiB);
    } finally {
      closeSync(fd);
    }
  });

  it('gives nothing for a file that is all hole, or empty', () => {
    for (const [name, size] of [
      ['hole', 16 * MiB],
      ['empty', 0],
    ] as const) {
      const fd = sparse(name, size, []);
      try {
        expect(dataRanges(fd)).toEqual([]);
      } finally {
        closeSync(fd);
      }
    }
  });

  it('refuses what is not a regular file, and a closed fd', () => {
    const [a, b] = socketpair();
    try {
      expect(() => dataRanges(a)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    } finally {
      closeFd(a);
      closeFd(b);
    }
    expect(() => dataRanges(a)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(() => dataRanges(-1)).toThrow(/usage: dataRanges/);
  });
});

describe('memfdCreate', () => {
  it('makes an empty memory file that /proc names, reopenable read-write, sparse when sized', () => {
    const fd = memfdCreate('vmlaunch-test-copy');
    try {
      expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe('/memfd:vmlaunch-test-copy (deleted)');
      expect(fstatSync(fd).size).toBe(0);
      ftruncateSync(fd, 64 * MiB);
      expect(fstatSync(fd).blocks).toBe(0);
      // What QEMU does with /proc/self/fd/N: a second open file of the same memory.
      const again = openSync(`/proc/self/fd/${fd}`, 'r+');
      try {
        writeSync(again, Buffer.alloc(4096, 1), 0, 4096, 32 * MiB);
        expect(fstatSync(fd).blocks * 512).toBe(4096);
        expect(dataRanges(fd)).toEqual([[32 * MiB, 4096]]);
      } finally {
        closeSync(again);
      }
    } finally {
      closeFd(fd);
    }
  });

  it('refuses an empty or too long name', () => {
    expect(() => memfdCreate('')).toThrow(/usage: memfdCreate/);
    expect(() => memfdCreate('x'.repeat(250))).toThrow(/usage: memfdCreate/);
  });
});
