// attachPhysical on a fake sysfs tree: the exact sysfs writes, in order, for attach, detach and
// every failure; preflight refusals write nothing. See test/helpers/fake-sysfs.ts for what the
// fake kernel does and does not model.
import {
  cpSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { realSysfsIo } from '../../../../network/endpoints/sysfs-pci.js';
import { StepError, UnsupportedError, ValidationError } from '../../../../core/index.js';
import { createPhysicalAttach } from '../../../../network/endpoints/physical.js';
import type { PhysicalEndpoint } from '../../../../network/endpoints/types.js';
import type { FakePciDevice, FakeSysfs } from '../../../helpers/fake-sysfs.js';
import { createFakeSysfs, errno } from '../../../helpers/fake-sysfs.js';

const ADDR = '0000:01:00.0';
const NIC: FakePciDevice = { address: ADDR, vendor: '8086', device: '10fb', driver: 'ixgbe' };
const ep = (extra: Partial<PhysicalEndpoint> = {}): PhysicalEndpoint => ({
  kind: 'physical',
  pciAddress: ADDR,
  ...extra,
});

const BIND = [
  [`bus/pci/devices/${ADDR}/driver_override`, 'vfio-pci'],
  ['bus/pci/drivers/ixgbe/unbind', ADDR],
  ['bus/pci/drivers_probe', ADDR],
];
const UNBIND = [
  ['bus/pci/drivers/vfio-pci/unbind', ADDR],
  [`bus/pci/devices/${ADDR}/driver_override`, '\n'],
  ['bus/pci/drivers_probe', ADDR],
];

let fake: FakeSysfs | undefined;
afterEach(() => fake?.cleanup());

function setup(device: Partial<FakePciDevice> = {}, drivers = ['ixgbe', 'vfio-pci']) {
  fake = createFakeSysfs([{ ...NIC, ...device }], drivers);
  const attach = createPhysicalAttach({ io: fake.io, verifyTimeoutMs: 50, pollMs: 5 });
  const ctx = { nicId: 'net0', sysfsRoot: fake.root };
  return { f: fake, attach, ctx };
}

describe('attachPhysical on a fake sysfs', () => {
  it('binds to vfio-pci with override, unbind, probe; detach restores the host driver', async () => {
    const { f, attach, ctx } = setup();
    const attached = await attach(ep(), ctx);
    expect(f.writes).toEqual(BIND);
    expect(f.driverOf(ADDR)).toBe('vfio-pci');
    expect(attached.hostNic).toEqual({ kind: 'vfio', id: 'net0', pciAddress: ADDR });
    expect(attached.endpoint).toEqual(ep({ driver: 'ixgbe', vendorDevice: '8086:10fb' }));
    await attached.detach();
    expect(f.writes).toEqual([...BIND, ...UNBIND]);
    expect(f.driverOf(ADDR)).toBe('ixgbe');
    expect(f.overrideOf(ADDR)).toBe('(null)');
    await attached.detach();
    expect(f.writes).toHaveLength(6);
  });

  it('waits for an asynchronous probe within the verify timeout', async () => {
    const { f, attach, ctx } = setup();
    f.faults.probeDelayReads = 3;
    const attached = await attach(ep(), ctx);
    expect(f.driverOf(ADDR)).toBe('vfio-pci');
    await attached.detach();
    expect(f.driverOf(ADDR)).toBe('ixgbe');
  });

  it('binds an unbound device without unbind, and leaves it unbound on detach', async () => {
    const { f, attach, ctx } = setup({ driver: undefined });
    const attached = await attach(ep(), ctx);
    expect(f.writes).toEqual([BIND[0], BIND[2]]);
    expect(attached.endpoint).toEqual(ep({ vendorDevice: '8086:10fb' }));
    await attached.detach();
    expect(f.writes.slice(2)).toEqual([UNBIND[0], UNBIND[1]]);
    expect(f.driverOf(ADDR)).toBeUndefined();
  });

  it('keeps a driver_override of vfio-pci the host had set: not written again, put back after detach', async () => {
    const { f, attach, ctx } = setup({ driverOverride: 'vfio-pci' });
    const attached = await attach(ep(), ctx);
    expect(f.writes).toEqual(BIND.slice(1));
    await attached.detach();
    expect(f.writes).toEqual([
      ...BIND.slice(1),
      ...UNBIND,
      [`bus/pci/devices/${ADDR}/driver_override`, 'vfio-pci'],
    ]);
    expect(f.driverOf(ADDR)).toBe('ixgbe');
    expect(f.overrideOf(ADDR)).toBe('vfio-pci');
  });

  it('does nothing for a device already on vfio-pci', async () => {
    const { f, attach, ctx } = setup({ driver: 'vfio-pci', driverOverride: 'vfio-pci' });
    const attached = await attach(ep(), ctx);
    await attached.detach();
    expect(f.writes).toEqual([]);
    expect(f.driverOf(ADDR)).toBe('vfio-pci');
  });

  it.each([
    ['no vfio-pci driver', {}, ['ixgbe'], UnsupportedError, /VFIO is not available/],
    ['no IOMMU group', { iommuGroup: null }, undefined, UnsupportedError, /no IOMMU group/],
    [
      'a foreign driver_override',
      { driverOverride: 'ixgbe' },
      undefined,
      ValidationError,
      /driver_override/,
    ],
  ] as const)('refuses %s before any write', async (_n, device, drivers, type, message) => {
    const { f, attach, ctx } = setup(device, drivers ? [...drivers] : undefined);
    await expect(attach(ep(), ctx)).rejects.toThrow(type);
    await expect(attach(ep(), ctx)).rejects.toThrow(message);
    expect(f.writes).toEqual([]);
    expect(f.driverOf(ADDR)).toBe('ixgbe');
  });

  it('refuses a missing device, a malformed address and a vendor:device mismatch', async () => {
    const { f, attach, ctx } = setup();
    await expect(attach(ep({ pciAddress: '0000:02:00.0' }), ctx)).rejects.toMatchObject({
      code: 'PCI_DEVICE_MISSING',
    });
    await expect(attach(ep({ pciAddress: '01:00.0' }), ctx)).rejects.toMatchObject({
      path: 'endpoint.pciAddress',
    });
    await expect(attach(ep({ vendorDevice: '8086:1572' }), ctx)).rejects.toMatchObject({
      code: 'PCI_DEVICE_MISMATCH',
      path: 'endpoint.vendorDevice',
    });
    expect(f.writes).toEqual([]);
  });

  // Failure at each step: the writes after the failing one are exactly the rollback.
  it.each([
    ['driver_override', 'driver_override', 'write driver_override', [BIND[0]]],
    ['unbind', 'ixgbe/unbind', 'unbind ixgbe', [BIND[0], BIND[1], UNBIND[1]]],
    ['drivers_probe', 'drivers_probe', 'write drivers_probe', [...BIND, UNBIND[1], UNBIND[2]]],
  ] as const)('rolls back when the %s write fails', async (_n, suffix, step, expected) => {
    const { f, attach, ctx } = setup();
    f.faults.failWrite = { [suffix]: errno('EIO', suffix) };
    const error: unknown = await attach(ep(), ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepError);
    expect((error as StepError).step).toBe(step);
    expect((error as StepError).rollbackErrors).toEqual([]);
    expect(f.writes).toEqual(expected);
    expect(f.driverOf(ADDR)).toBe('ixgbe');
    expect(f.overrideOf(ADDR)).toBe('(null)');
  });

  it('rolls back when vfio-pci does not bind (verify fails)', async () => {
    const { f, attach, ctx } = setup();
    f.faults.probeFails = ['vfio-pci'];
    const error = (await attach(ep(), ctx).catch((e: unknown) => e)) as StepError;
    expect(error.step).toBe('verify vfio-pci bound');
    expect(error.message).toMatch(/expected driver vfio-pci after drivers_probe, found \(none\)/);
    expect(f.writes).toEqual([...BIND, UNBIND[1], UNBIND[2]]);
    expect(f.driverOf(ADDR)).toBe('ixgbe');
  });

  it('reports a host driver that does not come back, on rollback and on detach', async () => {
    const { f, attach, ctx } = setup();
    f.faults.probeFails = ['vfio-pci', 'ixgbe'];
    const error = (await attach(ep(), ctx).catch((e: unknown) => e)) as StepError;
    expect(error.rollbackErrors.map((e) => e.message).join()).toMatch(
      /clear driver_override.*expected driver ixgbe.*found \(none\)/,
    );
    f.cleanup();
    const second = setup();
    const attached = await second.attach(ep(), second.ctx);
    second.f.faults.probeFails = ['ixgbe'];
    await expect(attached.detach()).rejects.toThrow(/detach 0000:01:00.0.*expected driver ixgbe/);
  });

  it('stops and rolls back when the signal aborts between writes', async () => {
    const { f, attach, ctx } = setup();
    const controller = new AbortController();
    f.faults.afterWrite = (path) => {
      if (path.endsWith('unbind')) controller.abort();
    };
    await expect(attach(ep(), { ...ctx, signal: controller.signal })).rejects.toThrow(StepError);
    expect(f.writes).toEqual([BIND[0], BIND[1], UNBIND[1], UNBIND[2]]);
    expect(f.driverOf(ADDR)).toBe('ixgbe');
    const aborted = AbortSignal.abort();
    f.writes.length = 0;
    await expect(attach(ep(), { ...ctx, signal: aborted })).rejects.toThrow();
    expect(f.writes).toEqual([]);
  });
});

describe('sysfsRoot and sysfs writes stay where they belong', () => {
  let outside: string | undefined;
  afterEach(() => {
    if (outside) rmSync(outside, { recursive: true, force: true });
    outside = undefined;
  });

  it.each([
    ['relative', (root: string) => root.slice(1)],
    [
      'a symlink to the tree',
      (root: string) => {
        outside = mkdtempSync(join(tmpdir(), 'vml-sysfs-link-'));
        const link = join(outside, 'sys');
        symlinkSync(root, link);
        return link;
      },
    ],
    ['not a directory', (root: string) => join(root, 'bus/pci/drivers_probe')],
  ])('refuses a sysfsRoot that is %s, before any write', async (_what, make) => {
    const { f, attach, ctx } = setup();
    await expect(attach(ep(), { ...ctx, sysfsRoot: make(f.root) })).rejects.toMatchObject({
      code: 'SYSFS_ROOT',
      path: 'sysfsRoot',
    });
    expect(f.writes).toEqual([]);
  });

  it('does not follow a symlink planted at a sysfs attribute', async () => {
    const { f, attach, ctx } = setup();
    outside = mkdtempSync(join(tmpdir(), 'vml-sysfs-victim-'));
    const victim = join(outside, 'victim');
    writeFileSync(victim, '(null)\n'); // reads as an unset override: only the write can tell
    const override = join(f.root, 'devices/pci0000:00', ADDR, 'driver_override');
    unlinkSync(override);
    symlinkSync(victim, override);
    await expect(attach(ep(), ctx)).rejects.toThrow(/symbolic link/);
    expect(readFileSync(victim, 'utf8')).toBe('(null)\n');
    expect(f.writes).toEqual([]);
  });

  it('refuses a device whose sysfs path leads out of sysfsRoot', async () => {
    const { f, attach, ctx } = setup();
    outside = mkdtempSync(join(tmpdir(), 'vml-sysfs-out-'));
    const copy = join(outside, ADDR);
    cpSync(join(f.root, 'devices/pci0000:00', ADDR), copy, {
      recursive: true,
      verbatimSymlinks: true,
    });
    const link = join(f.root, 'bus/pci/devices', ADDR);
    unlinkSync(link);
    symlinkSync(copy, link);
    await expect(attach(ep(), ctx)).rejects.toThrow(/outside/);
    expect(readFileSync(join(copy, 'driver_override'), 'utf8')).toBe('(null)\n');
    expect(f.writes).toEqual([]);
  });

  it('the real sysfs I/O refuses to write through a symlink', () => {
    outside = mkdtempSync(join(tmpdir(), 'vml-sysfs-io-'));
    const victim = join(outside, 'victim');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, join(outside, 'attr'));
    expect(() => realSysfsIo.write(join(outside!, 'attr'), 'x')).toThrow();
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });
});
