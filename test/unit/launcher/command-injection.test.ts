// T20, golden argv: user values carrying ',', ',,', '=', quotes or line breaks, put into every
// field of a VmConfig / HostNic that reaches QEMU, never add a key or an argv element. Values
// QEMU parses as options round-trip through the ',,' escaper (checked with an independent
// reading of QEMU's syntax); -kernel/-initrd/-append are passed verbatim; ids, MACs and line
// breaks are refused with the field named. The hot-plug side is JSON built by JSON.stringify:
// the fake QMP server parses what it received and finds the value intact.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { describe, expect, it } from 'vitest';
import { buildCommand } from '../../../launcher/command.js';
import { attachNic } from '../../../launcher/hotplug/attach.js';
import type { VmConfig } from '../../../launcher/vm-config.js';
import type { HostNic } from '../../../network/host-nic.js';
import { expectValidation } from './devices/helpers.js';
import { rigPerTest } from './hotplug/harness.js';

/** Options whose argument QEMU parses as a key=value list. */
const KEYVAL_OPTIONS = new Set(['-machine', '-chardev', '-netdev', '-device', '-object', '-mon']);

/** Values a user could hand in, each an injection attempt of its own. */
const HOSTILE = [
  ',',
  ',,',
  '=',
  'a,b',
  'a,,b',
  'x,server=off',
  'x,id=evil',
  ',,,path=/etc/passwd',
  'k=v',
  '"double"',
  "'single'",
  'spa ce;$(x)',
];

// An independent reading of QEMU's option syntax: elements end at a single ',', ',,' is a
// literal comma, the first element may be an implied key; returns [key, value] pairs.
function parseKeyval(text: string): [string, string][] {
  const elements: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === ',' && text[i + 1] === ',') {
      current += ',';
      i++;
    } else if (text[i] === ',') {
      elements.push(current);
      current = '';
    } else {
      current += text[i];
    }
  }
  elements.push(current);
  return elements.map((element, index) => {
    const eq = element.indexOf('=');
    if (eq < 0) return index === 0 ? ['<implied>', element] : [element, '<flag>'];
    return [element.slice(0, eq), element.slice(eq + 1)];
  });
}

/** Every keyval option of an argv, parsed, in order: [option, pairs]. */
function keyvalArgs(argv: readonly string[]): [string, [string, string][]][] {
  const out: [string, [string, string][]][] = [];
  argv.forEach((arg, i) => {
    if (KEYVAL_OPTIONS.has(arg)) out.push([arg, parseKeyval(argv[i + 1]!)]);
  });
  return out;
}

/** The keys of each keyval option (the shape an injection would change). */
const shape = (argv: readonly string[]): string[] =>
  keyvalArgs(argv).map(([option, pairs]) => `${option} ${pairs.map(([k]) => k).join(',')}`);

const config = (patch: Partial<VmConfig> = {}): VmConfig => ({
  machine: { template: 'q35' },
  accel: 'tcg',
  cpus: 1,
  memory: { sizeMiB: 256, shared: true },
  boot: { kernel: '/k/vmlinuz', initrd: '/k/initrd.img', cmdline: ['quiet'] },
  qmp: { fd: 17 },
  console: { kind: 'file', path: '/tmp/console.log' },
  ...patch,
});

const vhostUser = (socketPath: string): HostNic => ({
  kind: 'vhost-user',
  id: 'vu',
  mac: '52:54:00:00:00:0b',
  queues: 1,
  socketPath,
  mode: 'server',
});

const tap: HostNic = {
  kind: 'tap',
  id: 'a',
  mac: '52:54:00:00:00:0a',
  mtu: 1500,
  tapFds: [30],
  vhostFds: [],
  vhost: { enabled: false },
  ifname: 'vmlt0',
};

const baseline = buildCommand(config(), [vhostUser('/run/vu.sock'), tap]);

describe('T20: hostile values in the command line', () => {
  it.each(HOSTILE)(
    'T20: a vhost-user socket path with %j stays one path value, no key or argv element added',
    (value) => {
      const path = `/run/vml/${value}.sock`;
      const { argv } = buildCommand(config(), [vhostUser(path), tap]);
      expect(argv).toHaveLength(baseline.argv.length);
      expect(shape(argv)).toEqual(shape(baseline.argv));
      const chardev = keyvalArgs(argv).find(([, pairs]) => pairs[1]?.[1] === 'chr-vu');
      expect(chardev?.[1]).toEqual([
        ['<implied>', 'socket'],
        ['id', 'chr-vu'],
        ['path', path],
        ['server', 'on'],
        ['wait', 'off'],
      ]);
    },
  );

  it.each(HOSTILE)('T20: a console log path with %j stays one path value', (value) => {
    const path = `/tmp/${value}.log`;
    const { argv } = buildCommand(config({ console: { kind: 'file', path } }), [tap]);
    const console = keyvalArgs(argv).find(([, pairs]) => pairs[1]?.[1] === 'console');
    expect(console?.[1]).toEqual([
      ['<implied>', 'file'],
      ['id', 'console'],
      ['path', path],
    ]);
    expect(shape(argv)).toEqual(shape(buildCommand(config(), [tap]).argv));
  });

  it.each(HOSTILE)(
    'T20: kernel, initrd and cmdline words with %j are passed verbatim as single arguments',
    (value) => {
      const boot = { kernel: `/k/${value}`, initrd: `/i/${value}`, cmdline: [`opt=${value}`] };
      const { argv } = buildCommand(config({ boot }), [vhostUser('/run/vu.sock'), tap]);
      expect(argv).toHaveLength(baseline.argv.length);
      expect(argv[argv.indexOf('-kernel') + 1]).toBe(boot.kernel);
      expect(argv[argv.indexOf('-initrd') + 1]).toBe(boot.initrd);
      expect(argv[argv.indexOf('-append') + 1]).toBe(`console=ttyS0 opt=${value}`);
      expect(shape(argv)).toEqual(shape(baseline.argv));
    },
  );

  it.each([',', ',,', '=', 'a,b', 'x=y', '"q"', "'q'", 'a\nb', 'a b'])(
    'T20: a NIC id with %j is refused, naming the field',
    (value) => {
      expectValidation(
        () => buildCommand(config(), [{ ...tap, id: value }]),
        'nics[0].id',
        'QEMU_ID',
      );
    },
  );

  it.each(['52:54:00:00:00:0a,x=y', '52:54:00:00:00:0a\n', '"52:54:00:00:00:0a"', '52,54'])(
    'T20: a MAC with %j is refused, naming the field',
    (mac) => {
      expectValidation(
        () => buildCommand(config(), [{ ...tap, mac }]),
        'nics[0].mac',
        'VALIDATION',
      );
    },
  );

  it('T20: a line break in a socket path, a console path or a cmdline word is refused, naming the field', () => {
    expectValidation(
      () => buildCommand(config(), [vhostUser('/run/a\nb.sock')]),
      'nics[0].socketPath',
      'QEMU_ARG_CONTROL_CHAR',
    );
    expectValidation(
      () => buildCommand(config({ console: { kind: 'file', path: '/tmp/a\nb' } }), []),
      'console.path',
      'QEMU_ARG_CONTROL_CHAR',
    );
    expectValidation(
      () => buildCommand(config({ boot: { kernel: '/k', cmdline: ['a\rb'] } }), []),
      'boot.append[1]',
      'QEMU_ARG_CONTROL_CHAR',
    );
  });
});

describe('T20: hostile values on the hot-plug path', () => {
  const start = rigPerTest();
  it.each(HOSTILE)(
    'T20: chardev-add carries a socket path with %j as one JSON string, unchanged',
    async (value) => {
      const path = `/run/vml/${value}.sock`;
      const rg = await start({ sharedMemory: true, nic: () => vhostUser(path) });
      await attachNic(
        rg.ctx,
        { endpoint: { kind: 'vhost-user', socketPath: path, mode: 'server' } },
        { id: 'hp0' },
      );
      const chardevAdd = rg.qemu.fake.received.find((c) => c.execute === 'chardev-add');
      expect(chardevAdd?.arguments).toEqual({
        id: 'chr-hp0',
        backend: {
          type: 'socket',
          data: { addr: { type: 'unix', data: { path } }, server: true, wait: false },
        },
      });
    },
  );
});
