// Block backends as device objects: a `file` node on an fd (through an fdset) and a raw/qcow2
// format node on top of it. The same JSON object is the -blockdev argument and the QMP
// blockdev-add arguments, so cold and hot plug cannot drift apart.
//
// QEMU 7.2 facts (checked by running it): the file driver opens /dev/fdset/N with qemu_open(), which dups
// the set's fd whose access mode matches (O_RDONLY for read-only=on, O_RDWR otherwise) and fails
// with "Could not dup FD for /dev/fdset/N flags 0: Permission denied" when none does. Image
// locking (OFD locks) works on those fds; a conflict names /dev/fdset/N, not the image.
// node-name is at most 31 characters (BlockDriverState.node_name[32]).
import { ValidationError } from '../../core/index.js';
import { checkArgText, validateQemuId } from '../opts.js';
import type { FdRef, QemuDevice, QmpCommandSpec } from './types.js';
import { formatFdPath } from './types.js';

/** Image formats vmlaunch hands to QEMU (never probed by QEMU). */
export type ImageFormat = 'raw' | 'qcow2';

/** -drive cache= modes, as the three knobs they stand for (QEMU docs, -drive cache=). */
export type DriveCache = 'none' | 'writeback' | 'writethrough' | 'directsync' | 'unsafe';

/** cache mode -> cache.direct, cache.no-flush (nodes) and write-cache (device). */
export const DRIVE_CACHE_MODES = Object.freeze({
  writeback: Object.freeze({ direct: false, noFlush: false, writeCache: true }),
  none: Object.freeze({ direct: true, noFlush: false, writeCache: true }),
  writethrough: Object.freeze({ direct: false, noFlush: false, writeCache: false }),
  directsync: Object.freeze({ direct: true, noFlush: false, writeCache: false }),
  unsafe: Object.freeze({ direct: false, noFlush: true, writeCache: true }),
} as const satisfies Record<
  DriveCache,
  { direct: boolean; noFlush: boolean; writeCache: boolean }
>);

export type DriveAio = 'threads' | 'native' | 'io_uring';
export type DriveDiscard = 'unmap' | 'ignore';

/** Longest node name QEMU keeps. */
export const MAX_NODE_NAME = 31;

/** Options every node of one drive shares. */
export interface NodeOptions {
  readOnly?: boolean | undefined;
  cache?: DriveCache | undefined;
  discard?: DriveDiscard | undefined;
}

export interface BlockdevFileSpec extends NodeOptions {
  nodeName: string;
  /** The image as QEMU sees it: an fdset (never a path QEMU would open itself). */
  fd: FdRef;
  aio?: DriveAio | undefined;
  path?: string;
}

export interface BlockdevFormatSpec extends NodeOptions {
  nodeName: string;
  format: ImageFormat;
  /** Node name of the file node below. */
  file: string;
  /** qcow2 only: node name of the backing node; null: none (the header is not followed). */
  backing?: string | null;
  path?: string;
}

// A node name within QEMU's limits (id rules + length).
function checkNodeName(name: string, path: string): void {
  validateQemuId(name, path);
  if (name.length > MAX_NODE_NAME) {
    throw new ValidationError(
      path,
      name,
      `a node name has at most ${MAX_NODE_NAME} characters`,
      'QEMU_ID',
    );
  }
}

// The shared node options as blockdev JSON members.
function nodeOptions(spec: NodeOptions): Record<string, unknown> {
  const mode = spec.cache === undefined ? undefined : DRIVE_CACHE_MODES[spec.cache];
  return {
    ...(spec.readOnly ? { 'read-only': true } : {}),
    ...(mode ? { cache: { direct: mode.direct, 'no-flush': mode.noFlush } } : {}),
    ...(spec.discard && !spec.readOnly ? { discard: spec.discard } : {}),
  };
}

// One blockdev node as a QemuDevice: -blockdev JSON, blockdev-add, blockdev-del.
function blockdevNode(
  kind: string,
  nodeName: string,
  validate: () => void,
  props: () => Record<string, unknown>,
): QemuDevice {
  return {
    id: nodeName,
    kind,
    validate,
    toArgs() {
      validate();
      return ['-blockdev', checkArgText(JSON.stringify(props()), nodeName)];
    },
    toQmp(): QmpCommandSpec[] {
      validate();
      return [{ execute: 'blockdev-add', arguments: props() }];
    },
    toQmpRemove() {
      return [{ execute: 'blockdev-del', arguments: { 'node-name': nodeName } }];
    },
  };
}

// The protocol node: the image's bytes, read through an fd vmlaunch opened.
export function blockdevFile(spec: BlockdevFileSpec): QemuDevice {
  const path = spec.path ?? 'blockdev';
  const validate = (): void => {
    checkNodeName(spec.nodeName, `${path}.nodeName`);
    formatFdPath(spec.fd, `${path}.fd`);
    if (spec.cache !== undefined && !(spec.cache in DRIVE_CACHE_MODES)) {
      throw new ValidationError(
        `${path}.cache`,
        spec.cache,
        `expected one of ${Object.keys(DRIVE_CACHE_MODES).join(', ')}`,
        'DRIVE_OPTION',
      );
    }
    if (spec.aio !== undefined && !['threads', 'native', 'io_uring'].includes(spec.aio)) {
      throw new ValidationError(
        `${path}.aio`,
        spec.aio,
        "expected 'threads', 'native' or 'io_uring'",
        'DRIVE_OPTION',
      );
    }
    // QEMU: "aio=native was specified, but it requires cache.direct=on".
    if (
      spec.aio === 'native' &&
      !(spec.cache !== undefined && DRIVE_CACHE_MODES[spec.cache].direct)
    ) {
      throw new ValidationError(
        `${path}.aio`,
        spec.aio,
        "aio 'native' needs cache 'none' or 'directsync' (O_DIRECT)",
        'DRIVE_OPTION',
      );
    }
    if (spec.discard !== undefined && spec.discard !== 'unmap' && spec.discard !== 'ignore') {
      throw new ValidationError(
        `${path}.discard`,
        spec.discard,
        "expected 'unmap' or 'ignore'",
        'DRIVE_OPTION',
      );
    }
  };
  return blockdevNode('blockdev-file', spec.nodeName, validate, () => ({
    driver: 'file',
    'node-name': spec.nodeName,
    filename: formatFdPath(spec.fd, `${path}.fd`),
    ...nodeOptions(spec),
    ...(spec.aio ? { aio: spec.aio } : {}),
  }));
}

// The format node on top of a file node (and, for an overlay, over its backing node).
export function blockdevFormat(spec: BlockdevFormatSpec): QemuDevice {
  const path = spec.path ?? 'blockdev';
  const validate = (): void => {
    checkNodeName(spec.nodeName, `${path}.nodeName`);
    checkNodeName(spec.file, `${path}.file`);
    if (spec.format !== 'raw' && spec.format !== 'qcow2') {
      throw new ValidationError(
        `${path}.format`,
        spec.format,
        "expected 'raw' or 'qcow2'",
        'IMAGE_FORMAT',
      );
    }
    if (typeof spec.backing === 'string') {
      checkNodeName(spec.backing, `${path}.backing`);
      if (spec.format !== 'qcow2') {
        throw new ValidationError(
          `${path}.backing`,
          spec.backing,
          'only a qcow2 node has a backing node',
          'IMAGE_FORMAT',
        );
      }
    }
  };
  return blockdevNode('blockdev-format', spec.nodeName, validate, () => ({
    driver: spec.format,
    'node-name': spec.nodeName,
    file: spec.file,
    ...nodeOptions(spec),
    // qcow2: never let QEMU follow a backing path from the header (it would open a path).
    ...(spec.format === 'qcow2' ? { backing: spec.backing ?? null } : {}),
  }));
}
