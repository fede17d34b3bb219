// T7 on the real QEMU: QEMU is SIGKILLed after the tap fds went over with getfd and before
// netdev_add. The attach fails as interrupted; rollback sends nothing to the dead monitor (no
// closefd, no netdev_del); the tap, the ingress qdiscs and the redirects are gone by the time
// the call rejects, our fds are closed, and nothing is left once the VM is reaped.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { describe, expect, it } from 'vitest';
import { HotplugError } from '../../../launcher/hotplug/errors.js';
import { qemuMissing } from '../../helpers/guest.js';
import { diffSnapshots } from '../../helpers/leaks.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { bootGuest, createTestNet, snapshot } from './fixture.js';

describe.runIf(prerequisite('hot-plug SIGKILL after getfd', qemuMissing() ?? rootNetnsMissing()))(
  'QEMU killed between getfd and netdev_add (T7)',
  () => {
    it('T7: the attach fails as interrupted, nothing is sent to the dead monitor, and the host side is rolled back', async () => {
      const net = createTestNet();
      try {
        const before = snapshot(net);
        const vm = await bootGuest();
        const qmp = vm.qmp;
        const execute = qmp.execute.bind(qmp);
        const getfds: Promise<void>[] = [];
        const afterKill: string[] = [];
        let killed = false;
        const deviceDel = qmp.deviceDel.bind(qmp);
        qmp.deviceDel = (args, options) => {
          if (killed) afterKill.push('device_del');
          return deviceDel(args, options);
        };
        const getfd = qmp.getfd.bind(qmp);
        qmp.getfd = (args, options) => {
          const reply = getfd(args, options);
          getfds.push(reply);
          return reply;
        };
        // The removals rollback could send; attach pipelines device_add behind netdev_add, so
        // that one may still be called (and fail unsent) after the kill.
        const removals = new Set(['closefd', 'netdev_del', 'device_del', 'remove-fd']);
        // From netdev_add on, every call waits until QEMU, holding both fds (getfd answered),
        // has been killed: QEMU never sees netdev_add or anything after it.
        let gate: Promise<void> | undefined;
        qmp.execute = async <T>(command: string, args?: object, options?: object) => {
          if (killed && removals.has(command)) afterKill.push(command);
          if (command === 'netdev_add') {
            gate ??= (async () => {
              await Promise.all(getfds);
              killed = true;
              process.kill(vm.pid, 'SIGKILL');
              await vm.process.exited;
            })();
          }
          if (gate) await gate;
          return execute<T>(command, args, options);
        };
        const error = await vm
          .attach({
            endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter', queues: 2 },
            netns: net.netns,
          })
          .catch((e: unknown) => e);
        const rightAfter = snapshot(net);
        const exit = await vm.exited;

        expect(getfds).toHaveLength(2);
        expect(error).toBeInstanceOf(HotplugError);
        expect(error).toMatchObject({ interrupted: true, code: 'HOTPLUG_INTERRUPTED' });
        expect(afterKill).toEqual([]);
        expect(rightAfter.links).toEqual(before.links);
        expect(rightAfter.tc).toEqual(before.tc);
        expect(exit).toMatchObject({ signal: 'SIGKILL', unexpected: true });
        expect(vm.leftovers).toEqual([]);
        expect(diffSnapshots(before, snapshot(net))).toEqual([]);
      } finally {
        net.remove();
      }
    }, 120_000);
  },
);
