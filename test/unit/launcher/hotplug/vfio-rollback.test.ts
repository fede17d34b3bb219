// T26: a VFIO hot-plug that fails at device_add, with the real physical attach on a fake sysfs
// and a scripted QEMU. The host driver may come back only once QEMU holds no VFIO device: a
// refused device_add added nothing (QEMU closed the group's fds before it answered); a cut-short
// one may have added it, so the rebind waits for DEVICE_DELETED. While QEMU may still hold the
// device, no write to vfio-pci/unbind may happen (on a real host it blocks until QEMU lets go).
// Fault ids (T1...T35) are defined in docs/faults.md.
import { afterEach, describe, expect, it } from 'vitest';
import { attachNic } from '../../../../launcher/hotplug/attach.js';
import { HotplugError } from '../../../../launcher/hotplug/errors.js';
import { createPhysicalAttach } from '../../../../network/endpoints/physical.js';
import type { PhysicalEndpoint } from '../../../../network/endpoints/types.js';
import { createFakeSysfs, type FakeSysfs } from '../../../helpers/fake-sysfs.js';
import { settle } from '../qmp/connected.js';
import { rigPerTest, type Rig, type Script } from './harness.js';

const ADDR = '0000:01:00.0';
const DEVICE = 'nic-hp0';
const PHYSICAL = { endpoint: { kind: 'physical' as const, pciAddress: ADDR } };
const UNBIND_VFIO = 'bus/pci/drivers/vfio-pci/unbind';

const start = rigPerTest();
let sysfs: FakeSysfs | undefined;
afterEach(() => sysfs?.cleanup());

/** A rig whose host side is the real physical attach on a fake sysfs (ixgbe NIC at ADDR). */
async function vfioRig(
  script: Script,
): Promise<{ rg: Rig; fake: FakeSysfs; heldAtUnbind: boolean[] }> {
  const rg = await start({ script });
  const fake = createFakeSysfs(
    [{ address: ADDR, vendor: '8086', device: '10fb', driver: 'ixgbe' }],
    ['ixgbe', 'vfio-pci'],
  );
  sysfs = fake;
  const attach = createPhysicalAttach({ io: fake.io, verifyTimeoutMs: 50, pollMs: 5 });
  rg.ctx.attachEndpoint = (endpoint, c) =>
    attach(endpoint as PhysicalEndpoint, { ...c, sysfsRoot: fake.root });
  // Whether "QEMU" held the VFIO device at each vfio-pci unbind (the fake QEMU's device table).
  const heldAtUnbind: boolean[] = [];
  fake.faults.afterWrite = (path) => {
    if (path === UNBIND_VFIO) heldAtUnbind.push(rg.qemu.devices.has(DEVICE));
  };
  return { rg, fake, heldAtUnbind };
}

/** The sysfs writes that give the NIC back: unbind vfio-pci, clear the override, probe. */
const RESTORE = [
  [UNBIND_VFIO, ADDR],
  [`bus/pci/devices/${ADDR}/driver_override`, '\n'],
  ['bus/pci/drivers_probe', ADDR],
];

describe('a VFIO attach that fails at device_add (T26)', () => {
  it('T26: a refused device_add gives the NIC back to its host driver, override cleared and the probe verified', async () => {
    const { rg, fake, heldAtUnbind } = await vfioRig((c) =>
      c.execute === 'device_add'
        ? { error: 'vfio 0000:01:00.0: group 7 is not viable' }
        : undefined,
    );
    const error = await attachNic(rg.ctx, PHYSICAL, { id: 'hp0' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HotplugError);
    expect(error).toMatchObject({ step: 'device_add', rollbackErrors: [] });
    expect((error as HotplugError).message).toMatch(/not viable/);
    // The restore came after QEMU's answer, and never while QEMU held the device.
    expect(rg.qemu.transcript).toEqual(['qmp_capabilities', `device_add ${DEVICE}`]);
    expect(fake.writes.slice(3)).toEqual(RESTORE);
    expect(heldAtUnbind).toEqual([false]);
    expect(fake.driverOf(ADDR)).toBe('ixgbe');
    expect(fake.overrideOf(ADDR)).toBe('(null)');
    expect(rg.ctx.registry.list()).toEqual([]);
  });

  it('T26: a device_add cut short after QEMU added the device rebinds the host driver only after DEVICE_DELETED', async () => {
    const { rg, fake, heldAtUnbind } = await vfioRig((c) =>
      c.execute === 'device_add' ? 'apply-silently' : undefined,
    );
    const attaching = attachNic(rg.ctx, PHYSICAL, { id: 'hp0', timeout: 200 }).catch(
      (e: unknown) => e,
    );
    // device_add gets at least MIN_DEVICE_ADD_MS, then rollback asks QEMU to unplug.
    while (!rg.qemu.transcript.includes(`device_del ${DEVICE}`)) await settle(20);
    await settle(100);
    expect(fake.writes.map(([path]) => path)).not.toContain(UNBIND_VFIO);
    expect(fake.driverOf(ADDR)).toBe('vfio-pci');
    rg.qemu.deleted(DEVICE);
    const error = await attaching;
    expect(error).toBeInstanceOf(HotplugError);
    expect(error).toMatchObject({ step: 'device_add', rollbackErrors: [] });
    expect(fake.writes.slice(3)).toEqual(RESTORE);
    expect(heldAtUnbind).toEqual([false]);
    expect(fake.driverOf(ADDR)).toBe('ixgbe');
  });

  // A device the guest never releases: the rollback keeps the NIC as a pending unplug, so the
  // host driver is never rebound while QEMU still holds the device.
  it('T26: a device_add cut short whose device the guest never releases leaves the NIC on vfio-pci', async () => {
    const { rg, fake, heldAtUnbind } = await vfioRig((c) =>
      c.execute === 'device_add' ? 'apply-silently' : undefined,
    );
    const error = await attachNic(rg.ctx, PHYSICAL, { id: 'hp0', timeout: 200 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HotplugError);
    expect(rg.qemu.devices.has(DEVICE)).toBe(true);
    // QEMU still holds the device: the host driver must not be rebound under it.
    expect(heldAtUnbind).toEqual([]);
    expect(fake.driverOf(ADDR)).toBe('vfio-pci');
    expect((error as HotplugError).rollbackErrors.map((e) => e.message).join('\n')).toMatch(
      /DEVICE_DELETED/,
    );
  }, 20_000);
});
