// SIGKILL of QEMU in the middle of an attach: the call fails with an interruption error, the
// host side is already cleaned up when it does, and nothing is left once the VM is reaped.
// The kill is placed deterministically by wrapping the VM's QMP client: right before the first
// getfd (host side made, nothing in QEMU yet), and right after device_add (while attach waits
// for the guest to show the NIC).
import { describe, expect, it } from 'vitest';
import { HotplugError } from '../../../launcher/hotplug/errors.js';
import type { Vm } from '../../../launcher/vm.js';
import { qemuMissing } from '../../helpers/guest.js';
import { diffSnapshots } from '../../helpers/leaks.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { bootGuest, createTestNet, snapshot, type TestNet } from './fixture.js';

// Boots a VM, arms `arm` to SIGKILL QEMU at one point of the attach, attaches, and returns the error.
async function attachKilled(net: TestNet, arm: (vm: Vm, kill: () => void) => void) {
  const vm = await bootGuest();
  const kill = (): void => void process.kill(vm.pid, 'SIGKILL');
  arm(vm, kill);
  const error = await vm
    .attach({
      endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter' },
      netns: net.netns,
    })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  const hostRightAfter = snapshot(net);
  const exit = await vm.exited;
  return { error, hostRightAfter, exit, vm };
}

describe.runIf(prerequisite('hot-plug SIGKILL', qemuMissing() ?? rootNetnsMissing()))(
  'QEMU killed in the middle of an attach',
  () => {
    for (const where of [
      'before the first getfd',
      'after device_add, while waiting for the guest',
    ]) {
      it(`${where}: the attach fails as interrupted and the host side is cleaned up`, async () => {
        const net = createTestNet();
        try {
          const before = snapshot(net);
          const { error, hostRightAfter, exit, vm } = await attachKilled(net, (vm, kill) => {
            const qmp = vm.qmp;
            if (where.startsWith('before')) {
              const getfd = qmp.getfd.bind(qmp);
              qmp.getfd = async (args, options) => {
                kill();
                await vm.process.exited;
                return getfd(args, options);
              };
            } else {
              const execute = qmp.execute.bind(qmp);
              qmp.execute = async <T>(command: string, args?: object, options?: object) => {
                const result = await execute<T>(command, args, options);
                if (command === 'device_add') kill();
                return result;
              };
            }
          });
          expect(error).toBeInstanceOf(HotplugError);
          expect(error).toMatchObject({ interrupted: true, code: 'HOTPLUG_INTERRUPTED' });
          console.log(`${where}: ${(error as Error).message}`);
          expect(hostRightAfter.links).toEqual(before.links);
          expect(hostRightAfter.tc).toEqual(before.tc);
          expect(exit).toMatchObject({ signal: 'SIGKILL', unexpected: true });
          expect(vm.hotplugged).toEqual([]);
          expect(vm.leftovers).toEqual([]);
          expect(diffSnapshots(before, snapshot(net))).toEqual([]);
        } finally {
          net.remove();
        }
      }, 120_000);
    }
  },
);
