// The VM config: plain, JSON-serialisable data describing one VM, and its validation, which
// runs completely before anything is spawned and names the offending field.
import { ValidationError } from '../core/index.js';
import type { TemplateName, TemplateOverrides } from '../qemu-templates/index.js';
import type { DriveConfig } from './devices/blockdev-drive.js';
import type { Accel } from './devices/machine-args.js';
import type { VhostUserFsShare } from './devices/vhost-user-fs.js';
import { resolveSandbox, type ResolvedSandbox } from './sandbox.js';

/** Where the serial console goes: our end of a socketpair (fd), a log file, or nowhere. */
export type ConsoleConfig =
  { kind: 'fd'; fd: number } | { kind: 'file'; path: string } | { kind: 'none' };

/** Everything a launch needs besides the NICs. */
export interface VmConfig {
  /** QEMU binary; default 'qemu-system-x86_64'. */
  qemu?: string;
  machine: { template: TemplateName; overrides?: TemplateOverrides };
  accel: Accel;
  /** CPU model ('max', 'host'); QEMU's default when omitted. */
  cpu?: string;
  cpus: number;
  /**
   * shared: guest RAM in memory-backend-memfd,share=on (required by vhost-user NICs).
   * file: our fd of a RAM image QEMU maps shared instead (a restore's private copy).
   */
  memory: { sizeMiB: number; shared?: boolean; file?: number };
  boot: { kernel: string; initrd?: string; cmdline?: string[] };
  /** Our fd of the socketpair end QEMU gets for QMP (we keep the other end to talk to it). */
  qmp: { fd: number };
  console?: ConsoleConfig;
  /** Start with the CPUs stopped (-S), e.g. to hot-plug before the guest runs. */
  paused?: boolean;
  /** Keep QEMU alive after the guest powers off (-no-shutdown). */
  noShutdown?: boolean;
  /** Wait for a saved state fed over QMP (-incoming defer) instead of booting. */
  incoming?: boolean;
  /** NIC id -> the root port it is cold-plugged on (a restore of a hot-plugged NIC). */
  nicBuses?: Record<string, string>;
  /** Drive id -> the root port it is cold-plugged on (a restore of a hot-plugged drive). */
  driveBuses?: Record<string, string>;
  /** QEMU's seccomp filter (-sandbox on,...), every group decided; none when absent. */
  sandbox?: ResolvedSandbox;
  /** Drives with their image fds already open (ours; the child inherits them in fdsets). */
  drives?: DriveConfig[];
  /** virtiofs shares: each a vhost-user-fs device on our fd connected to its virtiofsd. */
  shares?: VhostUserFsShare[];
}

const TOP_KEYS = [
  'qemu',
  'machine',
  'accel',
  'cpu',
  'cpus',
  'memory',
  'boot',
  'qmp',
  'console',
  'paused',
  'noShutdown',
  'incoming',
  'nicBuses',
  'driveBuses',
  'sandbox',
  'drives',
  'shares',
];

// Refuses keys we do not know, so a typo ('noShutdwon') is an error rather than ignored.
function checkKeys(value: object, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new ValidationError(
        path ? `${path}.${key}` : key,
        key,
        `unknown field; expected ${allowed.join(', ')}`,
        'UNKNOWN_FIELD',
      );
    }
  }
}

// A plain object at `path`, else a ValidationError.
function object(value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationError(path, value, 'expected an object', 'TYPE');
  }
  return value as Record<string, unknown>;
}

// An fd we own and will hand to the child: a non-negative integer.
function fd(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ValidationError(path, value, 'expected an open file descriptor (integer >= 0)', 'FD');
  }
  return value;
}

// Checks the type of an optional field.
function optional(value: unknown, type: 'string' | 'boolean', path: string): void {
  if (value !== undefined && typeof value !== type) {
    throw new ValidationError(path, value, `expected a ${type}`, 'TYPE');
  }
}

/**
 * Checks the shape of a VmConfig (types, unknown fields, fds); ranges and QEMU rules are
 * checked by the devices when the command is built.
 * @throws ValidationError with `code` and the field `path` ('memory.sizeMiB', 'qmp.fd').
 */
export function validateVmConfig(input: unknown): VmConfig {
  const config = object(input, 'config');
  checkKeys(config, TOP_KEYS, '');
  optional(config.qemu, 'string', 'qemu');
  const machine = object(config.machine, 'machine');
  checkKeys(machine, ['template', 'overrides'], 'machine');
  if (config.accel !== 'kvm' && config.accel !== 'tcg') {
    throw new ValidationError('accel', config.accel, "expected 'kvm' or 'tcg'", 'ACCEL');
  }
  optional(config.cpu, 'string', 'cpu');
  const memory = object(config.memory, 'memory');
  checkKeys(memory, ['sizeMiB', 'shared', 'file'], 'memory');
  optional(memory.shared, 'boolean', 'memory.shared');
  if (memory.file !== undefined) fd(memory.file, 'memory.file');
  const boot = object(config.boot, 'boot');
  checkKeys(boot, ['kernel', 'initrd', 'cmdline'], 'boot');
  if (typeof boot.kernel !== 'string' || boot.kernel.length === 0) {
    throw new ValidationError(
      'boot.kernel',
      boot.kernel,
      'a kernel image path is required',
      'REQUIRED',
    );
  }
  optional(boot.initrd, 'string', 'boot.initrd');
  if (
    boot.cmdline !== undefined &&
    (!Array.isArray(boot.cmdline) || !boot.cmdline.every((b) => typeof b === 'string'))
  ) {
    throw new ValidationError('boot.cmdline', boot.cmdline, 'expected an array of strings', 'TYPE');
  }
  const qmp = object(config.qmp, 'qmp');
  checkKeys(qmp, ['fd'], 'qmp');
  fd(qmp.fd, 'qmp.fd');
  if (config.console !== undefined) validateConsole(config.console, qmp.fd as number);
  optional(config.paused, 'boolean', 'paused');
  optional(config.noShutdown, 'boolean', 'noShutdown');
  optional(config.incoming, 'boolean', 'incoming');
  for (const key of ['nicBuses', 'driveBuses'] as const) {
    if (config[key] === undefined) continue;
    for (const [id, bus] of Object.entries(object(config[key], key)))
      optional(bus, 'string', `${key}.${id}`);
  }
  if (config.sandbox !== undefined) resolveSandbox(object(config.sandbox, 'sandbox'), 'sandbox');
  if (config.drives !== undefined) validateDriveFds(config.drives);
  if (config.shares !== undefined) validateShareConfigs(config.shares);
  return config as unknown as VmConfig;
}

// The console is an fd (not the QMP one), a non-empty path, or none.
function validateConsole(value: unknown, qmpFd: number): void {
  const console = object(value, 'console');
  if (console.kind === 'fd') {
    checkKeys(console, ['kind', 'fd'], 'console');
    if (fd(console.fd, 'console.fd') === qmpFd) {
      throw new ValidationError(
        'console.fd',
        console.fd,
        'the console needs its own fd, not the QMP one',
        'FD',
      );
    }
  } else if (console.kind === 'file') {
    checkKeys(console, ['kind', 'path'], 'console');
    if (typeof console.path !== 'string' || console.path.length === 0) {
      throw new ValidationError('console.path', console.path, 'expected a file path', 'TYPE');
    }
  } else if (console.kind === 'none') {
    checkKeys(console, ['kind'], 'console');
  } else {
    throw new ValidationError(
      'console.kind',
      console.kind,
      "expected 'fd', 'file' or 'none'",
      'TYPE',
    );
  }
}

// Drives are an array of objects whose fds are open fds of ours; the rest is checked by the
// drive's devices when the command is built.
function validateDriveFds(value: unknown): void {
  if (!Array.isArray(value))
    throw new ValidationError('drives', value, 'expected an array', 'TYPE');
  value.forEach((item, i) => {
    const drive = object(item, `drives[${i}]`);
    fd(drive.fd, `drives[${i}].fd`);
    if (drive.backing !== undefined)
      fd(object(drive.backing, `drives[${i}].backing`).fd, `drives[${i}].backing.fd`);
  });
}

// Shares: an array of { id, tag, fd[, queueSize] }; ids, tags and ranges are the devices' job.
function validateShareConfigs(value: unknown): void {
  if (!Array.isArray(value))
    throw new ValidationError('shares', value, 'expected an array', 'TYPE');
  value.forEach((item: unknown, i) => {
    const share = object(item, `shares[${i}]`);
    checkKeys(share, ['id', 'tag', 'fd', 'queueSize'], `shares[${i}]`);
    for (const key of ['id', 'tag'] as const) {
      if (typeof share[key] !== 'string') {
        throw new ValidationError(`shares[${i}].${key}`, share[key], 'expected a string', 'TYPE');
      }
    }
    fd(share.fd, `shares[${i}].fd`);
  });
}
