// The manifest written beside a snapshot's state file: what the saved machine was made of
// (QEMU, machine, CPU, memory, devices, NICs, drives) so that restore can rebuild the same
// device set and refuse, before anything starts, a host or options it cannot match. Parsed
// strictly: unknown fields, wrong types and unknown versions are errors; version 1 (before
// hot-plugged drives were recorded) is still read (docs/snapshots.md).
import { ValidationError } from '../../core/index.js';
import { parseEndpoint } from '../../network/endpoints/parse.js';
import type { Endpoint } from '../../network/endpoints/types.js';
import { validateMac } from '../../network/validate.js';
import type { TemplateName, TemplateOverrides } from '../../qemu-templates/index.js';
import type { DriveSpec } from '../workload/drive-spec.js';

/** The manifest format this vmlaunch writes (version 2: drives may be hot-plugged ones). */
export const MANIFEST_VERSION = 2;
/** The manifest versions this vmlaunch reads: 1 (no hot-plugged drives) and 2. */
export const READABLE_MANIFEST_VERSIONS: readonly ManifestVersion[] = [1, 2];
/** A manifest format version (1: every drive cold-plugged; 2: drives carry `hotplugged`). */
export type ManifestVersion = 1 | 2;
const FORMAT = 'vmlaunch-snapshot';

/** QEMU as query-version reported it when the snapshot was taken. */
export interface ManifestQemu {
  /** The binary the VM ran (as given to launch, or the default name). */
  binary: string;
  /** major.minor.micro */
  version: string;
  /** The distribution's package string (e.g. "Debian 1:7.2+dfsg-7"); '' when none. */
  package: string;
}

/** One QEMU object of the saved VM, by id. */
export interface ManifestDevice {
  /** QEMU's id of the object. */
  id: string;
  /** What it is ('virtio-net', 'tap-netdev', 'pcie-root-port'...). */
  kind: string;
  /** The PCI bus it sits on, when pinned (hot-plugged devices: their root port). */
  bus?: string;
  /** Plugged after the launch (vm.attach). */
  hotplugged: boolean;
}

/** One guest NIC: its id, the MAC the guest holds, and the endpoint it was attached to. */
export interface ManifestNic {
  /** The NIC id (launch's EndpointSpec.id or hot-plug id). */
  id: string;
  /** The MAC the guest holds in its saved state: a restore keeps it. */
  mac: string;
  /** The endpoint vmlaunch attached; absent for a HostNic the caller attached itself. */
  endpoint?: Endpoint;
  /** The netns the endpoint was in (name or path); absent for the caller's netns. */
  netns?: string;
  /** Plugged after the launch (vm.attach). */
  hotplugged: boolean;
  /** The root port a hot-plugged NIC sits on. */
  bus?: string;
}

/**
 * A drive and the identity of its image: device and inode numbers, byte size and mtime of
 * the file at snapshot time (no content hash: hashing a large image costs more than a boot).
 */
export interface ManifestDrive {
  /** The drive as launch was given it (a hot-plugged one: as plugged, id and serial set). */
  spec: DriveSpec;
  /** Its id (spec.id or the default drive<N>). */
  id: string;
  /** The image file at snapshot time; restore refuses a file that differs. */
  identity: { dev: number; ino: number; size: number; mtimeMs: number };
  /** Plugged after the launch (vm.attach({ drive })); always false in a version 1 manifest. */
  hotplugged: boolean;
  /** The root port a hot-plugged drive sits on. */
  bus?: string;
}

/** The whole manifest (one of version 1 reads with every drive `hotplugged: false`). */
export interface SnapshotManifest {
  format: typeof FORMAT;
  version: ManifestVersion;
  createdAt: string;
  /**
   * The state file's name (beside the manifest) and its size in bytes; `memory`: the sparse RAM
   * image beside it (the guest's RAM size), when the state file holds the devices only.
   */
  state: { file: string; bytes: number; memory?: { file: string; bytes: number } };
  qemu: ManifestQemu;
  machine: {
    template: TemplateName;
    overrides?: TemplateOverrides;
    /** -machine type and options as run (for reading; restore resolves the template again). */
    type: string;
    options: Record<string, string | number | boolean>;
  };
  accel: 'kvm' | 'tcg';
  cpu?: string;
  cpus: number;
  memoryMiB: number;
  sharedMemory: boolean;
  boot: { kernel: string; initrd?: string; cmdline: string[] };
  devices: ManifestDevice[];
  nics: ManifestNic[];
  drives: ManifestDrive[];
}

// --- strict reading -------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function fail(path: string, value: unknown, reason: string): never {
  const field = path ? `manifest.${path}` : 'manifest';
  throw new ValidationError(field, value, reason, 'MANIFEST_INVALID');
}

function obj(value: unknown, path: string, keys: readonly string[]): Obj {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    fail(path, value, 'expected an object');
  for (const key of Object.keys(value)) {
    if (!keys.includes(key))
      fail(path ? `${path}.${key}` : key, key, `unknown field; expected ${keys.join(', ')}`);
  }
  return value as Obj;
}

function str(value: unknown, path: string): string {
  if (typeof value !== 'string') fail(path, value, 'expected a string');
  return value;
}

function optStr(value: unknown, path: string): string | undefined {
  return value === undefined ? undefined : str(value, path);
}

function int(value: unknown, path: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
    fail(path, value, `expected an integer >= ${min}`);
  return value;
}

function num(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(path, value, 'expected a number');
  return value;
}

function bool(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') fail(path, value, 'expected a boolean');
  return value;
}

function arr(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) fail(path, value, 'expected an array');
  return value;
}

function strings(value: unknown, path: string): string[] {
  return arr(value, path).map((v, i) => str(v, `${path}[${i}]`));
}

// An optional key is written only when set, so a parsed manifest has no undefined values.
function withOpt<T extends object, K extends string, V>(
  target: T,
  key: K,
  value: V | undefined,
): T & Partial<Record<K, V>> {
  if (value !== undefined) (target as Obj)[key] = value;
  return target;
}

const DRIVE_SPEC_KEYS = [
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
] as const;

// Version 1 knew only cold-plugged drives: `hotplugged` and `bus` are unknown fields there.
function parseDrive(value: unknown, path: string, version: ManifestVersion): ManifestDrive {
  const keys = ['spec', 'id', 'identity', ...(version >= 2 ? ['hotplugged', 'bus'] : [])];
  const d = obj(value, path, keys);
  const spec = obj(d.spec, `${path}.spec`, DRIVE_SPEC_KEYS);
  str(spec.path, `${path}.spec.path`);
  for (const key of ['id', 'format', 'serial', 'cache', 'aio', 'discard', 'mount'] as const)
    optStr(spec[key], `${path}.spec.${key}`);
  for (const key of ['readOnly', 'ephemeral'] as const)
    if (spec[key] !== undefined) bool(spec[key], `${path}.spec.${key}`);
  const identity = obj(d.identity, `${path}.identity`, ['dev', 'ino', 'size', 'mtimeMs']);
  const drive: ManifestDrive = {
    spec: spec as unknown as DriveSpec,
    id: str(d.id, `${path}.id`),
    identity: {
      dev: int(identity.dev, `${path}.identity.dev`),
      ino: int(identity.ino, `${path}.identity.ino`),
      size: int(identity.size, `${path}.identity.size`),
      mtimeMs: num(identity.mtimeMs, `${path}.identity.mtimeMs`),
    },
    hotplugged: version >= 2 ? bool(d.hotplugged, `${path}.hotplugged`) : false,
  };
  return withOpt(drive, 'bus', optStr(d.bus, `${path}.bus`));
}

function parseNic(value: unknown, path: string): ManifestNic {
  const n = obj(value, path, ['id', 'mac', 'endpoint', 'netns', 'hotplugged', 'bus']);
  const mac = str(n.mac, `${path}.mac`);
  try {
    validateMac(mac, `${path}.mac`);
  } catch {
    fail(`${path}.mac`, mac, 'expected a MAC address');
  }
  const nic: ManifestNic = {
    id: str(n.id, `${path}.id`),
    mac,
    hotplugged: bool(n.hotplugged, `${path}.hotplugged`),
  };
  if (n.endpoint !== undefined)
    nic.endpoint = parseEndpoint(n.endpoint, `manifest.${path}.endpoint`);
  withOpt(nic, 'netns', optStr(n.netns, `${path}.netns`));
  return withOpt(nic, 'bus', optStr(n.bus, `${path}.bus`));
}

function parseDevice(value: unknown, path: string): ManifestDevice {
  const d = obj(value, path, ['id', 'kind', 'bus', 'hotplugged']);
  const device: ManifestDevice = {
    id: str(d.id, `${path}.id`),
    kind: str(d.kind, `${path}.kind`),
    hotplugged: bool(d.hotplugged, `${path}.hotplugged`),
  };
  return withOpt(device, 'bus', optStr(d.bus, `${path}.bus`));
}

function machineOptions(value: unknown, path: string): Record<string, string | number | boolean> {
  const o = obj(value, path, Object.keys(value ?? {}));
  for (const [k, v] of Object.entries(o)) {
    if (!['string', 'number', 'boolean'].includes(typeof v))
      fail(`${path}.${k}`, v, 'expected a string, number or boolean');
  }
  return o as Record<string, string | number | boolean>;
}

const TOP_KEYS = [
  'format',
  'version',
  'createdAt',
  'state',
  'qemu',
  'machine',
  'accel',
  'cpu',
  'cpus',
  'memoryMiB',
  'sharedMemory',
  'boot',
  'devices',
  'nics',
  'drives',
];

/**
 * Parses a manifest's JSON text strictly.
 * @throws ValidationError coded MANIFEST_INVALID (bad JSON, unknown field, wrong type) or
 *   MANIFEST_VERSION (another format version), naming the field.
 */
export function parseManifest(text: string): SnapshotManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    fail('(json)', text.slice(0, 40), `not JSON: ${(error as Error).message}`);
  }
  const top = obj(raw, '', TOP_KEYS);
  if (top.format !== FORMAT) fail('format', top.format, `expected "${FORMAT}"`);
  const version = top.version as ManifestVersion;
  if (!READABLE_MANIFEST_VERSIONS.includes(version)) {
    throw new ValidationError(
      'manifest.version',
      top.version,
      `this vmlaunch reads snapshot manifests of version ${READABLE_MANIFEST_VERSIONS.join(' or ')}`,
      'MANIFEST_VERSION',
    );
  }
  const state = obj(top.state, 'state', ['file', 'bytes', 'memory']);
  const memory =
    state.memory === undefined ? undefined : obj(state.memory, 'state.memory', ['file', 'bytes']);
  const qemu = obj(top.qemu, 'qemu', ['binary', 'version', 'package']);
  const machine = obj(top.machine, 'machine', ['template', 'overrides', 'type', 'options']);
  const boot = obj(top.boot, 'boot', ['kernel', 'initrd', 'cmdline']);
  if (top.accel !== 'kvm' && top.accel !== 'tcg')
    fail('accel', top.accel, "expected 'kvm' or 'tcg'");
  if (machine.overrides !== undefined)
    obj(machine.overrides, 'machine.overrides', [
      'machineOptions',
      'hotplugRootPorts',
      'kernelCmdline',
      'nicRomfile',
    ]);
  const manifest: SnapshotManifest = {
    format: FORMAT,
    version,
    createdAt: str(top.createdAt, 'createdAt'),
    state: {
      file: str(state.file, 'state.file'),
      bytes: int(state.bytes, 'state.bytes'),
      ...(memory
        ? {
            memory: {
              file: str(memory.file, 'state.memory.file'),
              bytes: int(memory.bytes, 'state.memory.bytes'),
            },
          }
        : {}),
    },
    qemu: {
      binary: str(qemu.binary, 'qemu.binary'),
      version: str(qemu.version, 'qemu.version'),
      package: str(qemu.package, 'qemu.package'),
    },
    machine: {
      template: str(machine.template, 'machine.template') as TemplateName,
      type: str(machine.type, 'machine.type'),
      options: machineOptions(machine.options, 'machine.options'),
    },
    accel: top.accel,
    cpus: int(top.cpus, 'cpus', 1),
    memoryMiB: int(top.memoryMiB, 'memoryMiB', 1),
    sharedMemory: bool(top.sharedMemory, 'sharedMemory'),
    boot: {
      kernel: str(boot.kernel, 'boot.kernel'),
      cmdline: strings(boot.cmdline, 'boot.cmdline'),
    },
    devices: arr(top.devices, 'devices').map((d, i) => parseDevice(d, `devices[${i}]`)),
    nics: arr(top.nics, 'nics').map((n, i) => parseNic(n, `nics[${i}]`)),
    drives: arr(top.drives, 'drives').map((d, i) => parseDrive(d, `drives[${i}]`, version)),
  };
  if (/[/\\]/.test(manifest.state.file) || manifest.state.file.startsWith('.'))
    fail('state.file', manifest.state.file, 'expected a plain file name beside the manifest');
  const memoryFile = manifest.state.memory?.file;
  if (memoryFile !== undefined && (/[/\\]/.test(memoryFile) || memoryFile.startsWith('.')))
    fail('state.memory.file', memoryFile, 'expected a plain file name beside the manifest');
  if (manifest.state.memory && manifest.state.memory.bytes !== manifest.memoryMiB * 1024 * 1024)
    fail('state.memory.bytes', manifest.state.memory.bytes, "expected the guest's RAM size");
  if (manifest.state.memory && !manifest.sharedMemory)
    fail('state.memory', manifest.state.memory, 'a RAM image needs sharedMemory: true');
  withOpt(manifest.machine, 'overrides', machine.overrides as TemplateOverrides | undefined);
  withOpt(manifest, 'cpu', optStr(top.cpu, 'cpu'));
  withOpt(manifest.boot, 'initrd', optStr(boot.initrd, 'boot.initrd'));
  return manifest;
}

/** The manifest's path for a state file: `<state>.json` beside it. */
export function manifestPath(statePath: string): string {
  return `${statePath}.json`;
}
