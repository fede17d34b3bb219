// Turns one drive (an image fd vmlaunch opened, its format and options) into the QEMU objects
// that give the guest that disk: file node, format node (over a read-only base for an ephemeral
// overlay) and virtio-blk. Cold plug hands the fds over with -add-fd; hot plug with QMP add-fd.
import { ValidationError } from '../../core/index.js';
import { formatOpts, validateQemuId } from '../opts.js';
import type { DriveAio, DriveCache, DriveDiscard, ImageFormat } from './blockdev.js';
import { blockdevFile, blockdevFormat, DRIVE_CACHE_MODES } from './blockdev.js';
import type { ArgGroup, FdRef, QemuDevice, Transport } from './types.js';
import { checkInt } from './types.js';
import { virtioBlk } from './virtio-blk.js';

/** A drive ready for QEMU: the fds are open (ours), the format is known. */
export interface DriveConfig {
  /** Device id; the node names derive from it (driveQemuIds). */
  id: string;
  /** Our fd of the image QEMU writes to (the overlay when `backing` is set). */
  fd: number;
  format: ImageFormat;
  readOnly?: boolean;
  serial: string;
  cache?: DriveCache;
  aio?: DriveAio;
  discard?: DriveDiscard;
  /** Ephemeral drive: `fd` is a qcow2 overlay over this base, opened read-only. */
  backing?: { fd: number; format: ImageFormat };
}

/** Which fd of a drive: the image (or overlay), or an overlay's base. */
export type DriveFdRole = 'image' | 'base';

/** Longest drive id: the longest derived node name ('-bfile') still fits in 31 characters. */
export const MAX_DRIVE_ID = 25;

/** QEMU names derived from a drive id: one rule for cold and hot plug. */
export function driveQemuIds(id: string) {
  return {
    device: id,
    file: `${id}-file`,
    format: `${id}-fmt`,
    baseFile: `${id}-bfile`,
    base: `${id}-base`,
  };
}

/** Where the drive's device goes and how its fds are seen by QEMU. */
export interface DriveContext {
  transport: Transport;
  /** The fdset QEMU will know the fd under. */
  fdRef: (parentFd: number, role: DriveFdRole) => FdRef;
  bus?: string | undefined;
  addr?: string | undefined;
  path?: string;
}

// A drive id within our naming rule.
export function validateDriveId(id: unknown, path: string): string {
  validateQemuId(id, path);
  if ((id as string).length > MAX_DRIVE_ID) {
    throw new ValidationError(
      path,
      id,
      `a drive id has at most ${MAX_DRIVE_ID} characters`,
      'QEMU_ID',
    );
  }
  return id as string;
}

// One drive -> its QEMU objects in creation order (QMP removal goes in reverse).
export function driveDevices(drive: DriveConfig, ctx: DriveContext): QemuDevice[] {
  const path = ctx.path ?? 'drive';
  validateDriveId(drive.id, `${path}.id`);
  const ids = driveQemuIds(drive.id);
  const shared = { cache: drive.cache, path };
  const out: QemuDevice[] = [];
  if (drive.backing) {
    out.push(
      blockdevFile({
        nodeName: ids.baseFile,
        fd: ctx.fdRef(drive.backing.fd, 'base'),
        readOnly: true,
        ...shared,
      }),
      blockdevFormat({
        nodeName: ids.base,
        format: drive.backing.format,
        file: ids.baseFile,
        readOnly: true,
        ...shared,
      }),
    );
  }
  const node = { readOnly: drive.readOnly, discard: drive.discard, ...shared };
  out.push(
    blockdevFile({ nodeName: ids.file, fd: ctx.fdRef(drive.fd, 'image'), aio: drive.aio, ...node }),
    blockdevFormat({
      nodeName: ids.format,
      format: drive.format,
      file: ids.file,
      ...(drive.backing ? { backing: ids.base } : {}),
      ...node,
    }),
    virtioBlk({
      id: ids.device,
      drive: ids.format,
      transport: ctx.transport,
      serial: drive.serial,
      writeCache: drive.cache === undefined ? undefined : DRIVE_CACHE_MODES[drive.cache].writeCache,
      bus: ctx.bus,
      addr: ctx.addr,
      path,
    }),
  );
  return out;
}

/** One fd of the command line's fdsets: which drive and role it belongs to. */
export interface DriveFdset {
  set: number;
  driveId: string;
  role: DriveFdRole;
  parentFd: number;
}

// The fdsets of cold-plugged drives, numbered from 0 in drive order (image before base): the
// one rule that both the command builder and the error explainer use.
export function driveFdsets(drives: readonly DriveConfig[]): DriveFdset[] {
  const out: DriveFdset[] = [];
  for (const d of drives) {
    out.push({ set: out.length, driveId: d.id, role: 'image', parentFd: d.fd });
    if (d.backing)
      out.push({ set: out.length, driveId: d.id, role: 'base', parentFd: d.backing.fd });
  }
  return out;
}

// `-add-fd fd=N,set=S,opaque=ID:ROLE`: QEMU puts the inherited fd N into fdset S at start.
export function addFdArg(childFd: number, set: number, opaque: string, path = 'addFd'): ArgGroup {
  const validate = (): void => {
    checkInt(childFd, `${path}.fd`, 3, 65535);
    checkInt(set, `${path}.set`, 0, 65535);
  };
  return {
    validate,
    toArgs() {
      validate();
      return ['-add-fd', formatOpts({ fd: childFd, set, opaque }, { path })];
    },
  };
}

// Every cold-plugged drive: its -add-fd groups and its devices, with ids checked for duplicates;
// `buses` puts a drive on a root port (a restore of a hot-plugged drive).
export function coldDrives(
  drives: readonly DriveConfig[],
  transport: Transport,
  childFd: (parentFd: number) => number,
  buses: Readonly<Record<string, string>> = {},
): { groups: ArgGroup[]; devices: QemuDevice[] } {
  const sets = driveFdsets(drives);
  const groups = sets.map((s) =>
    addFdArg(childFd(s.parentFd), s.set, `${s.driveId}:${s.role}`, `drives.fdsets[${s.set}]`),
  );
  const seen = new Set<string>();
  const devices = drives.flatMap((drive, i) => {
    const path = `drives[${i}]`;
    if (seen.has(drive.id)) {
      throw new ValidationError(`${path}.id`, drive.id, 'drive ids must be unique', 'DUPLICATE_ID');
    }
    seen.add(drive.id);
    const setOf = (role: DriveFdRole): number =>
      sets.find((s) => s.driveId === drive.id && s.role === role)!.set;
    return driveDevices(drive, {
      transport,
      fdRef: (_fd, role) => ({ kind: 'fdset', fdset: setOf(role) }),
      bus: buses[drive.id],
      path,
    });
  });
  return { groups, devices };
}
