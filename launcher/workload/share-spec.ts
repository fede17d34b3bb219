// Shared directories (virtiofs): the public spec, and its validation, which runs completely
// before anything is started and names the offending field ('shares[1].tag').
//
// Facts: a virtiofs tag is at most 36 bytes (the virtio-fs config space's tag field,
// include/uapi/linux/virtio_fs.h; QEMU's vhost-user-fs refuses longer ones). The default
// guest's init splits `vmlaunch.share=TAG,GUESTPATH[,ro]` on commas and the kernel command line
// on spaces, so tags and guest paths are held to a small alphabet.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ValidationError } from '../../core/index.js';
import { validateGuestPath } from './guest-path.js';
import { checkArgText, validateQemuId } from '../opts.js';

/** One host directory shared with the guest over virtiofs. */
export interface ShareSpec {
  /** A directory on the host (absolute or relative to cwd). */
  hostPath: string;
  /** virtiofs tag (<= 36 bytes of [A-Za-z0-9._-]); default share0, share1, ... */
  tag?: string;
  /** Guest path: the default guest mounts the share there. */
  mount?: string;
  /** The guest cannot write (enforced on the host by a read-only bind mount, and in the guest). */
  readOnly?: boolean;
  /** The share's id (its QEMU device is `fs-<id>`); default the tag when that starts with a
   *  letter, else share0, share1, ... */
  id?: string;
}

/** A share after validation, with every default filled in. */
export interface ResolvedShare {
  index: number;
  id: string;
  tag: string;
  /** Absolute host directory. */
  hostPath: string;
  mount: string | undefined;
  readOnly: boolean;
}

/** Longest virtiofs tag in bytes (virtio_fs_config.tag is char[36]). */
export const VIRTIOFS_TAG_MAX_BYTES = 36;
const TAG_RE = /^[A-Za-z0-9._-]+$/;
const KEYS = ['hostPath', 'tag', 'mount', 'readOnly', 'id'];

// A virtiofs tag: 1..36 bytes of [A-Za-z0-9._-].
export function validateShareTag(value: unknown, path: string): string {
  if (typeof value !== 'string' || !TAG_RE.test(value)) {
    throw new ValidationError(path, value, 'a virtiofs tag is made of [A-Za-z0-9._-]', 'SHARE_TAG');
  }
  if (Buffer.byteLength(value) > VIRTIOFS_TAG_MAX_BYTES) {
    throw new ValidationError(
      path,
      value,
      `a virtiofs tag is at most ${VIRTIOFS_TAG_MAX_BYTES} bytes`,
      'SHARE_TAG_LENGTH',
    );
  }
  return value;
}

// The host directory: it exists and is a directory (followed through symlinks), made absolute.
function hostDirectory(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ValidationError(path, value, 'expected a host directory path', 'TYPE');
  }
  const absolute = resolve(checkArgText(value, path));
  let isDirectory: boolean;
  try {
    isDirectory = statSync(absolute).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ValidationError(path, value, `cannot use the directory (${code})`, 'SHARE_DIR');
  }
  if (!isDirectory) {
    throw new ValidationError(path, value, 'a share is a directory, not a file', 'SHARE_DIR');
  }
  return absolute;
}

// Refuses a second use of the same value of one field across shares.
function unique(seen: Map<string, number>, value: string, path: string, what: string): void {
  if (seen.has(value)) {
    throw new ValidationError(path, value, `${what} must be unique across shares`, 'DUPLICATE_ID');
  }
  seen.set(value, 1);
}

/**
 * Validates `shares` and fills in defaults (tags share0..., ids, absolute host paths).
 * @throws ValidationError (`path` such as 'shares[1].tag') for a missing or non-directory
 *   hostPath, a bad or too long tag, a bad guest path, duplicate tags, ids or mount paths.
 */
export function resolveShares(shares: unknown): ResolvedShare[] {
  if (shares === undefined) return [];
  if (!Array.isArray(shares)) {
    throw new ValidationError('shares', shares, 'expected an array of shares', 'TYPE');
  }
  const tags = new Map<string, number>();
  const ids = new Map<string, number>();
  const mounts = new Map<string, number>();
  return shares.map((raw: unknown, index) => {
    const path = `shares[${index}]`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new ValidationError(path, raw, 'expected an object', 'TYPE');
    }
    const spec = raw as Record<string, unknown>;
    for (const key of Object.keys(spec)) {
      if (!KEYS.includes(key)) {
        throw new ValidationError(
          `${path}.${key}`,
          key,
          `unknown field; expected ${KEYS.join(', ')}`,
          'UNKNOWN_FIELD',
        );
      }
    }
    const hostPath = hostDirectory(spec.hostPath, `${path}.hostPath`);
    const tag = validateShareTag(spec.tag ?? `share${index}`, `${path}.tag`);
    unique(tags, tag, `${path}.tag`, 'a tag');
    const fallbackId = /^[A-Za-z]/.test(tag) ? tag : `share${index}`;
    const id = validateQemuId(spec.id ?? fallbackId, `${path}.id`);
    unique(ids, id, `${path}.id`, 'an id');
    const mount =
      spec.mount === undefined ? undefined : validateGuestPath(spec.mount, `${path}.mount`);
    if (mount !== undefined) unique(mounts, mount, `${path}.mount`, 'a mount path');
    if (spec.readOnly !== undefined && typeof spec.readOnly !== 'boolean') {
      throw new ValidationError(`${path}.readOnly`, spec.readOnly, 'expected a boolean', 'TYPE');
    }
    return { index, id, tag, hostPath, mount, readOnly: spec.readOnly === true };
  });
}

// The default guest's kernel argument for each share that has a guest mount path.
export function shareCmdline(shares: readonly ResolvedShare[]): string[] {
  return shares
    .filter((s) => s.mount !== undefined)
    .map((s) => `vmlaunch.share=${s.tag},${s.mount}${s.readOnly ? ',ro' : ''}`);
}
