// attachPhysical against the real /sys. On a kernel without VFIO,
// attach must fail with UnsupportedError before writing anything: every PCI device's driver and
// driver_override are the same afterwards, and a recording I/O over the real sysfs saw no
// write. On a host that does have vfio-pci, no real device is touched: only a PCI address that
// does not exist is tried, and it must be refused before any write.
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UnsupportedError, ValidationError } from '../../../../core/index.js';
import { attachPhysical, createPhysicalAttach } from '../../../../network/endpoints/physical.js';
import type { SysfsIo } from '../../../../network/endpoints/sysfs-pci.js';
import { realSysfsIo } from '../../../../network/endpoints/sysfs-pci.js';
import { prerequisite } from '../../../helpers/prereq.js';

const DEVICES = '/sys/bus/pci/devices';

// driver and driver_override of every PCI function: the VFIO part of the leak snapshot.
function pciState(): string[] {
  return readdirSync(DEVICES).map((a) => {
    const driver = existsSync(`${DEVICES}/${a}/driver`)
      ? readlinkSync(`${DEVICES}/${a}/driver`)
      : '-';
    const override = existsSync(`${DEVICES}/${a}/driver_override`)
      ? readFileSync(`${DEVICES}/${a}/driver_override`, 'utf8').trim()
      : '-';
    return `${a} ${driver} ${override}`;
  });
}

// The real sysfs, but every write is recorded and refused.
function guardedIo(writes: string[]): SysfsIo {
  return {
    ...realSysfsIo,
    write: (path, value) => {
      writes.push(`${path} <- ${JSON.stringify(value)}`);
      throw new Error(`test guard: refusing to write ${path}`);
    },
  };
}

const hasPci = existsSync(DEVICES) && readdirSync(DEVICES).length > 0;
const hasVfio = existsSync('/sys/bus/pci/drivers/vfio-pci');

describe.runIf(prerequisite('physical on /sys', hasPci ? undefined : 'no PCI device in /sys'))(
  'attachPhysical on the real /sys',
  () => {
    it('without vfio-pci: fails with UnsupportedError and writes nothing', async () => {
      if (hasVfio) return hostWithVfio();
      const address = readdirSync(DEVICES)[0]!;
      const before = pciState();
      const ctx = { nicId: 'net0' };
      const real = await attachPhysical({ kind: 'physical', pciAddress: address }, ctx).catch(
        (e: unknown) => e,
      );
      expect(real).toBeInstanceOf(UnsupportedError);
      expect((real as Error).message).toMatch(
        /VFIO is not available: \/sys\/bus\/pci\/drivers\/vfio-pci/,
      );
      const writes: string[] = [];
      const recorded = createPhysicalAttach({ io: guardedIo(writes) });
      await expect(recorded({ kind: 'physical', pciAddress: address }, ctx)).rejects.toThrow(
        UnsupportedError,
      );
      expect(writes).toEqual([]);
      expect(pciState()).toEqual(before);
    });
  },
);

// On a host with vfio-pci the UnsupportedError case cannot happen; check the nearest safe thing.
async function hostWithVfio(): Promise<void> {
  console.warn('vfio-pci present: checking only that a missing PCI address is refused');
  const writes: string[] = [];
  const before = pciState();
  const attach = createPhysicalAttach({ io: guardedIo(writes) });
  await expect(
    attach({ kind: 'physical', pciAddress: 'ffff:ff:1f.7' }, { nicId: 'net0' }),
  ).rejects.toThrow(ValidationError);
  expect(writes).toEqual([]);
  expect(pciState()).toEqual(before);
}
