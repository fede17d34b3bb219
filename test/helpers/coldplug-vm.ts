// One cold-plug VM per test: boot the default guest with the given endpoints, wait for its
// console shell, run the test's body, and always shut it down by the ladder afterwards.
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { launch, type LaunchOptions } from '../../launcher/launch.js';
import type { Vm, VmExit } from '../../launcher/vm.js';
import { leaks, linkState, printAccel, snapshot, type TestNet } from './coldplug-net.js';
import { defaultGuest, HARNESS_CMDLINE } from './guest.js';

/** Launch options of a cold-plug test (kernel, initrd and harness cmdline are added). */
export type ColdplugOptions = Omit<LaunchOptions, 'kernel' | 'initrd'> & {
  /** Checks on the launched VM (its argv...) before waiting for the guest, so they fail fast. */
  beforeReady?: (vm: Vm) => void;
};

/**
 * Boots the default guest with `options`, runs `body`, then shuts down (even when `body`
 * throws) and checks the VM went by the power button with nothing left behind.
 */
export async function withColdplugVm(
  options: ColdplugOptions,
  body: (vm: Vm) => Promise<void>,
): Promise<VmExit> {
  const guest = await defaultGuest();
  const { beforeReady, ...launchOptions } = options;
  const vm = await launch({
    kernel: guest.kernel,
    initrd: guest.initrd,
    ...launchOptions,
    cmdline: [...HARNESS_CMDLINE, ...(options.cmdline ?? [])],
  });
  let exit: VmExit;
  try {
    printAccel(vm);
    beforeReady?.(vm);
    // Boots take 2-7 s here under TCG: a minute means a hung boot, reported with the console tail.
    await vm.guest.waitReady({ timeout: 60_000 }).catch(async (error: unknown) => {
      // QEMU died during boot: say how (a crash is a signal), not only that the console closed.
      const exit = await Promise.race([vm.process.exited, sleep(2000, undefined)]);
      if (exit === undefined) throw error;
      const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${String(exit.code)}`;
      throw new Error(
        `QEMU ended during the guest's boot (${how}); stderr: ${vm.process.stderrTail() || '(empty)'}`,
        { cause: error },
      );
    });
    await body(vm);
  } finally {
    exit = await vm.shutdown();
  }
  expect(exit).toMatchObject({ rung: 'powerdown', unexpected: false });
  expect(vm.leftovers).toEqual([]);
  return exit;
}

/** Options of a cold-plug VM whose endpoints live in a TestNet. */
export type ColdplugNetOptions = ColdplugOptions & {
  /** Links of net.ns the VM borrows: after shutdown each must be as it was before the boot. */
  unchanged?: string[];
};

/**
 * withColdplugVm for endpoints in `net`: afterwards the `unchanged` links are given back as they
 * were and nothing leaked (fds, netns, links, tc, children) in either netns of `net`.
 */
export async function withColdplugVmIn(
  net: TestNet,
  options: ColdplugNetOptions,
  body: (vm: Vm) => Promise<void>,
): Promise<VmExit> {
  const { unchanged = [], ...vmOptions } = options;
  const linksBefore = unchanged.map((name) => linkState(net.ns, name));
  const before = snapshot(net);
  const exit = await withColdplugVm(vmOptions, body);
  for (const [i, name] of unchanged.entries()) {
    expect(linkState(net.ns, name)).toEqual(linksBefore[i]);
  }
  expect(leaks(before, snapshot(net))).toEqual([]);
  return exit;
}
