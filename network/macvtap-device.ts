// Opening the queue fds of a macvtap without trusting the path /dev/tap<ifindex>. A macvtap's
// char device is named after its ifindex, but ifindexes are per netns while devtmpfs names are
// global: two macvtaps in two netns can both be "tap5", and devtmpfs keeps only the first node
// (drivers/base/devtmpfs.c handle_create: an existing name is left alone). So the device's own
// dev_t is read from /sys/dev/char (whose links name '.../net/NAME/macvtap/tapIFINDEX', global
// across netns), and every fd opened is checked to be that dev_t. When /dev/tapN is missing or
// someone else's, a private node is made for it in a 0700 temp dir.
import {
  existsSync,
  fstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
} from 'node:fs';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../native/index.js';
import { VmlaunchError } from '../core/index.js';

/** A macvtap's char device numbers. */
export interface MacvtapDevice {
  major: number;
  minor: number;
}

/** Where the lookups read; injectable so tests can use a fake tree. */
export interface MacvtapDeviceRoots {
  procDevices?: string;
  sysDevChar?: string;
  dev?: string;
}

/** The char device of a macvtap could not be found, or was found more than once. */
export class MacvtapDeviceError extends VmlaunchError {
  constructor(message: string, code = 'MACVTAP_DEVICE') {
    super(message, code);
  }
}

// The macvtap char major is dynamic; /proc/devices is the only place that names it.
/**
 * The char major the kernel gave macvtap.
 * @throws {MacvtapDeviceError} when macvtap is not registered (module not loaded).
 */
export function macvtapMajor(procDevices = '/proc/devices'): number {
  const line = readFileSync(procDevices, 'utf8')
    .split('\n')
    .find((l) => / macvtap$/.test(l.trim()));
  if (line === undefined) throw new MacvtapDeviceError('macvtap is not in /proc/devices');
  return Number.parseInt(line.trim(), 10);
}

// The only global, unambiguous name of a macvtap's char device is its dev_t; /sys/dev/char maps
// each dev_t to the device path, which ends in the link's name and ifindex.
/**
 * Finds the dev_t of macvtap `name` with `ifindex` (exactly one match, or an error).
 * @throws {MacvtapDeviceError} when none or several char devices match.
 */
export function findMacvtapDevice(
  name: string,
  ifindex: number,
  roots: MacvtapDeviceRoots = {},
): MacvtapDevice {
  const major = macvtapMajor(roots.procDevices);
  const dir = roots.sysDevChar ?? '/sys/dev/char';
  const suffix = `/net/${name}/macvtap/tap${ifindex}`;
  const matches: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (!entry.startsWith(`${major}:`)) continue;
    try {
      if (readlinkSync(join(dir, entry)).endsWith(suffix)) matches.push(entry);
    } catch {
      // The device went away while we looked: not ours.
    }
  }
  if (matches.length !== 1) {
    const found = matches.length === 0 ? 'none' : matches.join(', ');
    throw new MacvtapDeviceError(
      `macvtap ${name} (ifindex ${ifindex}): expected one ${dir} entry ending in ${suffix}, found ${found}`,
      matches.length === 0 ? 'ENOENT' : 'MACVTAP_AMBIGUOUS',
    );
  }
  return { major, minor: Number(matches[0]!.split(':')[1]) };
}

// fs.Stats.rdev is the kernel's new_encode_dev(); compare device numbers in that form.
/** glibc's makedev(), as fs.Stats.rdev reports it. */
export function makedev(major: number, minor: number): number {
  return ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xff) << 12);
}

// When /dev/tapN belongs to another netns's macvtap, the only way in is a node of our own.
/**
 * Makes a private char node for `device` (mode 0600 in a fresh 0700 temp dir); remove() deletes
 * it; only used when /dev/tapN is not ours.
 * @throws {NativeError} when mknod fails.
 */
export function makePrivateNode(
  device: MacvtapDevice,
  label: string,
): { path: string; remove(): void } {
  // Under /dev (devtmpfs allows device nodes; /tmp is often mounted nodev, which would make the
  // node unopenable exactly when it is needed), in a fresh 0700 directory.
  const dir = mkdtempSync(join(existsSync('/dev') ? '/dev' : tmpdir(), 'vml-macvtap-'));
  const path = join(dir, label);
  try {
    native.mknodChar(path, device.major, device.minor, 0o600);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The primitives openMacvtapQueues uses, injectable for tests. */
export interface MacvtapOpenDeps {
  macvtapOpen?: (path: string, queues: number, vnetHdr: boolean) => number[];
  makeNode?: typeof makePrivateNode;
  roots?: MacvtapDeviceRoots;
}

/** Queue fds of a macvtap, and how they were reached. */
export interface MacvtapQueues {
  fds: number[];
  device: MacvtapDevice;
  /** '/dev/tapN' when it was the right node, 'private-node' when it was someone else's. */
  via: 'devtmpfs' | 'private-node';
}

// Whether a path is the char device `device`.
function isDevice(path: string, device: MacvtapDevice): boolean {
  try {
    const st = statSync(path);
    return st.isCharacterDevice() && st.rdev === makedev(device.major, device.minor);
  } catch {
    return false;
  }
}

// QEMU needs one fd per queue of exactly this macvtap, never of a namesake in another netns.
/**
 * Opens `queues` fds of macvtap `name` (ifindex `ifindex`, in any netns) and checks each fd's
 * dev_t; the caller owns the fds.
 * @throws {MacvtapDeviceError} when the device cannot be found or an fd is not that device.
 * @throws {NativeError} when the open or TUNSETIFF fails.
 */
export function openMacvtapQueues(
  name: string,
  ifindex: number,
  queues: number,
  vnetHdr: boolean,
  deps: MacvtapOpenDeps = {},
): MacvtapQueues {
  const device = findMacvtapDevice(name, ifindex, deps.roots);
  const open = deps.macvtapOpen ?? native.macvtapOpen;
  const devPath = join(deps.roots?.dev ?? '/dev', `tap${ifindex}`);
  if (isDevice(devPath, device)) {
    const fds = open(devPath, queues, vnetHdr);
    // The node could have been replaced between stat and open: check what we really hold.
    if (fds.every((fd) => isFdOf(fd, device))) return { fds, device, via: 'devtmpfs' };
    native.closeAll(fds);
  }
  const node = (deps.makeNode ?? makePrivateNode)(device, `tap${ifindex}`);
  try {
    const fds = open(node.path, queues, vnetHdr);
    if (!fds.every((fd) => isFdOf(fd, device))) {
      native.closeAll(fds);
      throw new MacvtapDeviceError(`macvtap ${name}: an opened fd is not device ${dev(device)}`);
    }
    return { fds, device, via: 'private-node' };
  } finally {
    node.remove();
  }
}

// Whether an open fd is the char device `device`.
function isFdOf(fd: number, device: MacvtapDevice): boolean {
  return fstatSync(fd).rdev === makedev(device.major, device.minor);
}

// 'major:minor' for messages.
function dev(device: MacvtapDevice): string {
  return `${device.major}:${device.minor}`;
}
