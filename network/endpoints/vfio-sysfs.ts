// Moving a PCI function between its host driver and vfio-pci through sysfs, the way libvirt
// and kata do it (Documentation/ABI/testing/sysfs-bus-pci, "driver_override"):
//   bind:   driver_override <- 'vfio-pci'; drivers/<host>/unbind <- addr; drivers_probe <- addr
//   unbind: drivers/vfio-pci/unbind <- addr; driver_override <- '\n'; drivers_probe <- addr
// Every write is a named step whose inverse is registered, so a failure at any step restores
// the host driver, and detach is the same inverses unwound.
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { VmlaunchError, type StepRunner } from '../../core/index.js';
import type { PciPaths, SysfsIo } from './sysfs-pci.js';
import { pciPaths } from './sysfs-pci.js';

/** The VFIO PCI driver's name in sysfs. */
export const VFIO_PCI_DRIVER = 'vfio-pci';

/** How long to wait for a driver to (re)bind after drivers_probe; drivers may probe async. */
export interface BindTiming {
  /** Default 2000 ms. */
  verifyTimeoutMs?: number;
  /** Default 20 ms. */
  pollMs?: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

// A probe that did not bind the expected driver; names both, so the message says what happened.
/** drivers_probe left the device on another driver (or none) than expected (code DRIVER_BIND). */
export class DriverBindError extends VmlaunchError {
  constructor(
    readonly pciAddress: string,
    readonly expected: string | undefined,
    readonly actual: string | undefined,
  ) {
    super(
      `${pciAddress}: expected driver ${expected ?? '(none)'} after drivers_probe, ` +
        `found ${actual ?? '(none)'}`,
      'DRIVER_BIND',
    );
  }
}

// The name of the driver bound now (the basename of the driver symlink), or undefined.
function currentDriver(io: SysfsIo, p: PciPaths): string | undefined {
  const target = io.readlink(p.driverLink);
  return target === undefined ? undefined : target.split('/').pop();
}

// drivers_probe returns before an async-probing driver has bound, so verify with a bounded poll.
/**
 * Waits until the device's driver is `expected` (undefined: no driver).
 * @throws {DriverBindError} when it is not within the timeout.
 */
export async function verifyDriver(
  io: SysfsIo,
  root: string,
  address: string,
  expected: string | undefined,
  timing: BindTiming = {},
): Promise<void> {
  const p = pciPaths(root, address);
  const timeout = timing.verifyTimeoutMs ?? 2000;
  const poll = timing.pollMs ?? 20;
  const sleep = timing.sleep ?? ((ms: number) => delay(ms));
  for (let waited = 0; ; waited += poll) {
    const actual = currentDriver(io, p);
    if (actual === expected) return;
    if (waited >= timeout) throw new DriverBindError(address, expected, actual);
    await sleep(poll);
  }
}

// Binding is three writes whose inverses must run in a different order than a naive per-write
// stack would give (the host driver can only come back once driver_override is cleared), so
// the override write's inverse also re-probes the host driver when the unbind happened.
/**
 * Binds PCI function `address` (currently on `hostDriver`, or on none) to vfio-pci, registering
 * the inverse of every write on `steps`: unwinding them unbinds vfio-pci, clears
 * driver_override, re-probes and verifies that `hostDriver` is back. Each write is a step of
 * `steps` (which checks its signal first), so a failure or abort unwinds what was done and
 * throws a StepError naming the step.
 * @throws {StepError} naming the failed write or verification.
 */
export async function bindToVfio(
  io: SysfsIo,
  root: string,
  address: string,
  hostDriver: string | undefined,
  steps: StepRunner,
  timing: BindTiming = {},
  /** driver_override was already vfio-pci (host configuration): keep it, never clear it. */
  overrideWasSet = false,
): Promise<void> {
  const p = pciPaths(root, address);
  let unbound = false;
  await steps.step('write driver_override', () => {
    if (!overrideWasSet) io.write(p.driverOverride, VFIO_PCI_DRIVER);
    steps.push(`clear driver_override of ${address}`, async () => {
      io.write(p.driverOverride, '\n');
      // The host had set it: put it back once its driver has been re-probed.
      const restore = (): void =>
        void (overrideWasSet && io.write(p.driverOverride, VFIO_PCI_DRIVER));
      if (!unbound) return restore();
      io.write(p.driversProbe, address);
      await verifyDriver(io, root, address, hostDriver, timing);
      restore();
    });
  });
  if (hostDriver !== undefined) {
    await steps.step(`unbind ${hostDriver}`, () => {
      io.write(join(p.drivers, hostDriver, 'unbind'), address);
      unbound = true;
    });
  }
  await steps.step('write drivers_probe', () => {
    // Registered first: a probe that fails after binding must still be undone.
    steps.push(`unbind ${address} from ${VFIO_PCI_DRIVER}`, () => {
      if (currentDriver(io, p) === VFIO_PCI_DRIVER) {
        io.write(join(p.drivers, VFIO_PCI_DRIVER, 'unbind'), address);
      }
    });
    io.write(p.driversProbe, address);
  });
  await steps.step(`verify ${VFIO_PCI_DRIVER} bound`, () =>
    verifyDriver(io, root, address, VFIO_PCI_DRIVER, timing),
  );
}
