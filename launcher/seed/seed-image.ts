// The NoCloud seed as a disk image (docs/guest-network.md): a small FAT file system labelled
// 'cidata' made with Debian's dosfstools (mkfs.vfat) and filled with mtools (mcopy), neither
// needing a mount. The same files give the same image bytes (--invariant, fixed mtimes).
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VmlaunchError } from '../../core/index.js';
import type { SeedFiles } from './seed-files.js';

/** The volume label cloud-init's NoCloud source looks for. */
export const SEED_LABEL = 'cidata';

/** Building the seed image failed (a tool is missing or refused); the tool's stderr says why. */
export class SeedImageError extends VmlaunchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'SEED_IMAGE', options);
  }
}

// Runs one tool with a deadline; rejects with its stderr (ENOENT: name the Debian package).
function run(binary: string, args: string[], pkg: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      args,
      { timeout: 30_000, env: { ...process.env, MTOOLS_SKIP_CHECK: '1', LC_ALL: 'C' } },
      (error, _stdout, stderr) => {
        if (!error) return resolve();
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        const why = missing ? `not found (Debian package ${pkg})` : stderr.trim() || error.message;
        reject(new SeedImageError(`${binary}: ${why}`, { cause: error }));
      },
    );
  });
}

// FAT needs room for its tables and directory besides the files; at least 1 MiB.
function sizeKiB(files: SeedFiles): number {
  const bytes = files.reduce((n, [, content]) => n + Buffer.byteLength(content) + 4096, 0);
  return Math.max(1024, Math.ceil((bytes * 2) / 1024) + 256);
}

// Writes `files` into a new image at `path` (which must not exist); on failure nothing is left.
/**
 * Builds the seed image.
 * @throws SeedImageError when mkfs.vfat or mcopy is missing or fails.
 */
export async function buildSeedImage(path: string, files: SeedFiles): Promise<void> {
  const staging = `${path}.files`;
  try {
    mkdirSync(staging, { mode: 0o700 });
    const sources = files.map(([name, content]) => {
      const file = join(staging, name);
      writeFileSync(file, content, { mode: 0o600 });
      utimesSync(file, 1_700_000_000, 1_700_000_000);
      return file;
    });
    const mkfs = ['-C', '--invariant', '-n', SEED_LABEL, path, String(sizeKiB(files))];
    await run('mkfs.vfat', mkfs, 'dosfstools');
    await run('mcopy', ['-i', path, '-m', ...sources, '::'], 'mtools');
  } catch (error) {
    rmSync(path, { force: true });
    throw error;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
