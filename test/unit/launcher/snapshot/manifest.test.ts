// The manifest is parsed strictly: a valid one round-trips, a version 1 one still reads (its
// drives cold-plugged), and each kind of damage is a ValidationError naming the field, coded
// MANIFEST_INVALID or MANIFEST_VERSION.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../core/index.js';
import { parseManifest, type SnapshotManifest } from '../../../../launcher/snapshot/manifest.js';

const VALID: SnapshotManifest = {
  format: 'vmlaunch-snapshot',
  version: 2,
  createdAt: '2026-12-05T10:00:00.000Z',
  state: { file: 'vm.state', bytes: 1000 },
  qemu: { binary: 'qemu-system-x86_64', version: '7.2.22', package: 'Debian 1:7.2' },
  machine: { template: 'q35', type: 'q35', options: {} },
  accel: 'tcg',
  cpus: 1,
  memoryMiB: 256,
  sharedMemory: false,
  boot: { kernel: '/k', initrd: '/i', cmdline: ['vmlaunch.console=harness'] },
  devices: [{ id: 'nic-net0', kind: 'virtio-net', hotplugged: false }],
  nics: [
    {
      id: 'net0',
      mac: '52:54:00:12:34:56',
      endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter' },
      netns: 'ns1',
      hotplugged: false,
    },
  ],
  drives: [
    {
      spec: { path: '/d.img', readOnly: true },
      id: 'drive0',
      identity: { dev: 1, ino: 2, size: 3, mtimeMs: 4.5 },
      hotplugged: false,
    },
    {
      spec: { path: '/hot.img', id: 'hd0', format: 'raw', serial: 'hd0' },
      id: 'hd0',
      identity: { dev: 1, ino: 3, size: 4096, mtimeMs: 5 },
      hotplugged: true,
      bus: 'rp0',
    },
  ],
};

// VALID as vmlaunch wrote it before hot-plugged drives were recorded (version 1).
function version1(): Record<string, unknown> {
  const m = structuredClone(VALID) as unknown as Record<string, unknown>;
  m.version = 1;
  m.drives = VALID.drives
    .filter((d) => !d.hotplugged)
    .map(({ spec, id, identity }) => ({ spec, id, identity }));
  return m;
}

type RawDrive = Record<string, unknown>;

// A copy of VALID with `edit` applied, as JSON text.
function damaged(edit: (m: Record<string, unknown>) => void): string {
  const m = structuredClone(VALID) as unknown as Record<string, unknown>;
  edit(m);
  return JSON.stringify(m);
}

describe('snapshot manifest', () => {
  it('a valid manifest round-trips', () => {
    expect(parseManifest(JSON.stringify(VALID))).toEqual(VALID);
  });

  it('a manifest with a RAM image round-trips', () => {
    const m = structuredClone(VALID);
    m.sharedMemory = true;
    m.state.memory = { file: 'vm.state.ram', bytes: 256 * 1024 * 1024 };
    expect(parseManifest(JSON.stringify(m))).toEqual(m);
  });

  // A RAM image on a manifest otherwise VALID but with shared memory.
  const withImage = (memory: unknown, shared = true): string =>
    damaged((m) => {
      m.sharedMemory = shared;
      (m.state as Record<string, unknown>).memory = memory;
    });

  it.each<[string, string, string]>([
    [
      'a RAM image with a path',
      withImage({ file: '../x', bytes: 256 << 20 }),
      'manifest.state.memory.file',
    ],
    [
      'a RAM image of another size',
      withImage({ file: 'x.ram', bytes: 1 }),
      'manifest.state.memory.bytes',
    ],
    [
      'a RAM image without shared memory',
      withImage({ file: 'x.ram', bytes: 256 << 20 }, false),
      'manifest.state.memory',
    ],
    [
      'an unknown RAM image field',
      withImage({ file: 'x.ram', bytes: 256 << 20, sum: 1 }),
      'manifest.state.memory.sum',
    ],
  ])('refuses %s', (_what, text, path) => {
    expect(() => parseManifest(text)).toThrow(ValidationError);
    try {
      parseManifest(text);
    } catch (error) {
      expect(error).toMatchObject({ path, code: 'MANIFEST_INVALID' });
    }
  });

  it('a version 1 manifest still reads, every drive cold-plugged', () => {
    const parsed = parseManifest(JSON.stringify(version1()));
    expect(parsed.version).toBe(1);
    expect(parsed.drives).toEqual([{ ...VALID.drives[0], hotplugged: false }]);
  });

  it('a version 1 manifest with a hot-plugged drive is refused, naming the field', () => {
    const m = version1();
    (m.drives as RawDrive[])[0]!.hotplugged = true;
    expect(() => parseManifest(JSON.stringify(m))).toThrow(
      expect.objectContaining({ path: 'manifest.drives[0].hotplugged', code: 'MANIFEST_INVALID' }),
    );
  });

  it.each<[string, string, string, string]>([
    ['not JSON', '{', 'manifest.(json)', 'MANIFEST_INVALID'],
    ['an unknown top field', damaged((m) => (m.extra = 1)), 'manifest.extra', 'MANIFEST_INVALID'],
    ['a newer version', damaged((m) => (m.version = 3)), 'manifest.version', 'MANIFEST_VERSION'],
    ['version 0', damaged((m) => (m.version = 0)), 'manifest.version', 'MANIFEST_VERSION'],
    [
      'a drive without hotplugged',
      damaged((m) => delete (m.drives as RawDrive[])[1]!.hotplugged),
      'manifest.drives[1].hotplugged',
      'MANIFEST_INVALID',
    ],
    [
      'a drive bus that is not a string',
      damaged((m) => ((m.drives as RawDrive[])[1]!.bus = 1)),
      'manifest.drives[1].bus',
      'MANIFEST_INVALID',
    ],
    ['another format', damaged((m) => (m.format = 'x')), 'manifest.format', 'MANIFEST_INVALID'],
    ['a missing field', damaged((m) => delete m.cpus), 'manifest.cpus', 'MANIFEST_INVALID'],
    [
      'a bad MAC',
      damaged((m) => ((m.nics as Array<{ mac: string }>)[0]!.mac = 'nope')),
      'manifest.nics[0].mac',
      'MANIFEST_INVALID',
    ],
    [
      'a bad endpoint',
      damaged((m) => ((m.nics as Array<{ endpoint: object }>)[0]!.endpoint = { kind: 'x' })),
      'manifest.nics[0].endpoint.kind',
      'KIND',
    ],
    [
      'a state file with a path',
      damaged((m) => ((m.state as { file: string }).file = '../etc/passwd')),
      'manifest.state.file',
      'MANIFEST_INVALID',
    ],
    [
      'an unknown drive field',
      damaged((m) => ((m.drives as Array<Record<string, unknown>>)[0]!.hash = 'x')),
      'manifest.drives[0].hash',
      'MANIFEST_INVALID',
    ],
    [
      'a fractional size',
      damaged((m) => ((m.drives as Array<{ identity: { size: number } }>)[0]!.identity.size = 1.5)),
      'manifest.drives[0].identity.size',
      'MANIFEST_INVALID',
    ],
  ])('refuses %s', (_what, text, path, code) => {
    let caught: unknown;
    try {
      parseManifest(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect(caught).toMatchObject({ path, code });
  });
});
