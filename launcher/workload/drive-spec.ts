// DriveSpec: a disk image the user gives a VM, and its checks, all made before launch creates
// anything: the shape, ids and serials, the guest mount path, and the image itself (exists, a
// regular file, readable/writable, its format as qemu-img reads it, no backing file).
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ValidationError } from '../../core/index.js';
import { validateGuestPath } from './guest-path.js';
import type { DriveAio, DriveCache, DriveDiscard, ImageFormat } from '../devices/blockdev.js';
import { DRIVE_CACHE_MODES } from '../devices/blockdev.js';
import { driveDevices, validateDriveId } from '../devices/blockdev-drive.js';
import type { Transport } from '../devices/types.js';
import { MAX_MMIO_DEVICES } from '../command.js';
import { validateDriveSerial } from '../devices/virtio-blk.js';
import { ImageInfoError, readImageInfo } from './drive-image.js';

/** A drive as the user gives it (plain, JSON-serialisable data). */
export interface DriveSpec {
  /** Image file on the host (absolute or relative to the cwd). */
  path: string;
  /** QEMU id, default drive0, drive1, ... */
  id?: string;
  /** Default: read with `qemu-img info --output=json`; a given one must match it. */
  format?: ImageFormat;
  readOnly?: boolean;
  /** A qcow2 overlay in the VM's run directory takes the writes; the image is untouched. */
  ephemeral?: boolean;
  /** virtio-blk serial (default: the id). */
  serial?: string;
  cache?: DriveCache;
  aio?: DriveAio;
  discard?: DriveDiscard;
  /** Guest path: the default guest mounts the drive there. */
  mount?: string;
}

/** A DriveSpec after its checks: defaults filled in, the image identified. */
export interface CheckedDrive {
  id: string;
  /** Absolute path of the image. */
  path: string;
  format: ImageFormat;
  readOnly: boolean;
  ephemeral: boolean;
  serial: string;
  cache?: DriveCache;
  aio?: DriveAio;
  discard?: DriveDiscard;
  mount?: string;
  virtualSize: number;
  /** The image's identity when checked: the fd opened later must be the same file. */
  dev: number;
  ino: number;
}

const KEYS = [
  'path',
  'id',
  'format',
  'readOnly',
  'ephemeral',
  'serial',
  'cache',
  'aio',
  'discard',
  'mount',
];

// One of `allowed`, or undefined, else a ValidationError.
function oneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  path: string,
): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new ValidationError(path, value, `expected one of ${allowed.join(', ')}`, 'DRIVE_OPTION');
  }
  return value as T;
}

// A boolean flag, default false.
function flag(value: unknown, path: string): boolean {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new ValidationError(path, value, 'expected a boolean', 'TYPE');
  }
  return value === true;
}

// The shape of one spec, defaults filled in; the image is not looked at yet.
function checkShape(
  input: unknown,
  i: number,
): Omit<CheckedDrive, 'format' | 'virtualSize' | 'dev' | 'ino'> & { givenFormat?: ImageFormat } {
  const path = `drives[${i}]`;
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ValidationError(path, input, 'expected an object', 'TYPE');
  }
  const spec = input as Record<string, unknown>;
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
  if (typeof spec.path !== 'string' || spec.path.length === 0) {
    throw new ValidationError(`${path}.path`, spec.path, 'an image path is required', 'REQUIRED');
  }
  const id = validateDriveId(spec.id ?? `drive${i}`, `${path}.id`);
  const serial = validateDriveSerial(spec.serial ?? id, `${path}.serial`);
  const readOnly = flag(spec.readOnly, `${path}.readOnly`);
  const ephemeral = flag(spec.ephemeral, `${path}.ephemeral`);
  if (readOnly && ephemeral) {
    throw new ValidationError(
      `${path}.ephemeral`,
      true,
      'a drive is readOnly or ephemeral, not both (an ephemeral drive never writes its image)',
      'DRIVE_OPTION',
    );
  }
  const cache = oneOf(spec.cache, Object.keys(DRIVE_CACHE_MODES) as DriveCache[], `${path}.cache`);
  const aio = oneOf(spec.aio, ['threads', 'native', 'io_uring'] as const, `${path}.aio`);
  const discard = oneOf(spec.discard, ['unmap', 'ignore'] as const, `${path}.discard`);
  const givenFormat = oneOf(spec.format, ['raw', 'qcow2'] as const, `${path}.format`);
  const mount =
    spec.mount === undefined ? undefined : validateGuestPath(spec.mount, `${path}.mount`);
  return {
    id,
    path: resolve(spec.path),
    readOnly,
    ephemeral,
    serial,
    ...(cache ? { cache } : {}),
    ...(aio ? { aio } : {}),
    ...(discard ? { discard } : {}),
    ...(mount ? { mount } : {}),
    ...(givenFormat ? { givenFormat } : {}),
  };
}

// The image file: there, regular, accessible as the drive needs; returns its identity.
function checkImageFile(
  file: string,
  writable: boolean,
  path: string,
): { dev: number; ino: number } {
  let st;
  try {
    st = statSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ValidationError(path, file, `cannot find the image (${code})`, 'IMAGE_NOT_FOUND');
  }
  if (!st.isFile()) {
    throw new ValidationError(path, file, 'the image is not a regular file', 'IMAGE_NOT_REGULAR');
  }
  try {
    accessSync(file, writable ? constants.R_OK | constants.W_OK : constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    const how = writable ? 'read and write' : 'read';
    throw new ValidationError(path, file, `cannot ${how} the image (${code})`, 'IMAGE_ACCESS');
  }
  return { dev: st.dev, ino: st.ino };
}

/** What the drive checks need to know about the VM. */
export interface DriveCheckContext {
  /** The machine's virtio transport and its name (for messages). */
  template: { transport: Transport; name: string };
  /** NICs of the VM (each takes a virtio transport, as each drive does). */
  nics: number;
}

// All drives of a launch, checked in order; nothing is opened or created.
/**
 * Checks `drives` completely (shape, ids, serials, images, formats).
 * @throws ValidationError naming the field, e.g. 'drives[1].format' (code IMAGE_FORMAT).
 */
export async function checkDriveSpecs(
  input: unknown,
  ctx: DriveCheckContext,
): Promise<CheckedDrive[]> {
  if (input === undefined) return [];
  if (!Array.isArray(input))
    throw new ValidationError('drives', input, 'expected an array', 'TYPE');
  const shapes = input.map((spec, i) => checkShape(spec, i));
  const { template } = ctx;
  if (template.transport === 'mmio' && shapes.length + ctx.nics > MAX_MMIO_DEVICES) {
    throw new ValidationError(
      'drives',
      shapes.length,
      `${template.name} has at most ${MAX_MMIO_DEVICES} virtio-mmio devices (${ctx.nics} NICs + ${shapes.length} drives)`,
      'TOO_MANY_DEVICES',
    );
  }
  for (const [i, d] of shapes.entries()) {
    const j = shapes.findIndex((o) => o.id === d.id || o.serial === d.serial);
    if (j < i) {
      const same = shapes[j]!.id === d.id ? 'id' : 'serial';
      throw new ValidationError(
        `drives[${i}].${same}`,
        d[same],
        `drive ${same}s must be unique`,
        'DUPLICATE_ID',
      );
    }
  }
  const out: CheckedDrive[] = [];
  for (const [i, { givenFormat, ...d }] of shapes.entries()) {
    const path = `drives[${i}].path`;
    const { dev, ino } = checkImageFile(d.path, !d.readOnly && !d.ephemeral, path);
    const info = await readImageInfo(d.path).catch((error: unknown) => {
      const why = error instanceof ImageInfoError ? error.message : String(error);
      throw new ValidationError(path, d.path, `cannot read the image: ${why}`, 'IMAGE_INFO');
    });
    if (info.format !== 'raw' && info.format !== 'qcow2') {
      throw new ValidationError(
        path,
        d.path,
        `qemu-img reads format '${info.format}'; raw and qcow2 are supported`,
        'IMAGE_FORMAT',
      );
    }
    if (givenFormat !== undefined && givenFormat !== info.format) {
      throw new ValidationError(
        `drives[${i}].format`,
        givenFormat,
        `qemu-img reads this image as '${info.format}'`,
        'IMAGE_FORMAT',
      );
    }
    if (info.backingFile !== undefined) {
      throw new ValidationError(
        path,
        d.path,
        `the image has a backing file (${info.backingFile}) that QEMU would open by path; flatten it (qemu-img convert) or use ephemeral on the base`,
        'IMAGE_BACKING',
      );
    }
    // Two writers of one file in one VM would fight over QEMU's image lock.
    const twin = out.find((o) => o.dev === dev && o.ino === ino);
    if (
      twin &&
      (twin.readOnly || twin.ephemeral ? 0 : 1) + (d.readOnly || d.ephemeral ? 0 : 1) > 0
    ) {
      throw new ValidationError(
        path,
        d.path,
        `the same image as drive ${twin.id}; only read-only uses may share it`,
        'DUPLICATE_IMAGE',
      );
    }
    out.push({ ...d, format: info.format, virtualSize: info.virtualSize, dev, ino });
  }
  // The devices themselves (node names, serial, cache/aio rules, transport), with stand-in fds.
  out.forEach((d, i) =>
    driveDevices(
      {
        ...d,
        fd: 3,
        ...(d.ephemeral ? { format: 'qcow2', backing: { fd: 4, format: d.format } } : {}),
      },
      {
        transport: template.transport,
        fdRef: (_fd, role) => ({ kind: 'fdset', fdset: role === 'base' ? 1 : 0 }),
        path: `drives[${i}]`,
      },
    ).forEach((device) => device.validate()),
  );
  return out;
}
