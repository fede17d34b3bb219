// Hot-plug faults against the real QEMU 7.2 and a real guest, one booted VM for the file:
// - T8: QEMU refuses device_add (a real error reply): the netdev and every fd sent are gone from
//   QEMU (its /proc/<pid>/fd count back to baseline), the host side is removed, QEMU's error
//   surfaces as the cause.
// - T9: the 2nd getfd of a 2-queue NIC fails (sent without its fd, QEMU refuses it): the 1st
//   named fd is closed in QEMU, the host side is removed.
// - T10: a detach past its deadline is pending: the host tap and its tc redirects are still there
//   (QEMU holds the tap), one record stays, a second detach (QEMU: "already in the process of
//   unplug") joins the same completion, and the late DEVICE_DELETED cleans everything up.
// - T12: device_del right after device_add (the guest has not finished taking the NIC): QEMU's
//   "guest is busy" refusals are retried, and the NIC ends removed with nothing left.
// - T13: a guest reset during a pending unplug completes it (QEMU deletes the device on reset).
// Oracles: `ip`/`tc -json`, /proc/<qemu>/fd, `qom-list /machine/peripheral`, HMP `info network`.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HotplugError } from '../../../launcher/hotplug/errors.js';
import { QmpCommandError } from '../../../launcher/qmp/errors.js';
import type { Vm } from '../../../launcher/vm.js';
import { qemuMissing } from '../../helpers/guest.js';
import { diffSnapshots } from '../../helpers/leaks.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { bootGuest, createTestNet, qemuFdCount, snapshot, type TestNet } from './fixture.js';

const TCFILTER = { kind: 'veth' as const, name: 'eth0', interworking: 'tcfilter' as const };

/** QEMU's own view: peripheral device ids and the netdevs `info network` lists. */
async function qemuObjects(vm: Vm): Promise<{ devices: string[]; network: string }> {
  const devices = (await vm.qmp.qomList({ path: '/machine/peripheral' }))
    .filter((p) => p.type.startsWith('child<'))
    .map((p) => p.name)
    .sort();
  const network = await vm.qmp.humanMonitorCommand({ commandLine: 'info network' });
  return { devices, network };
}

/** Runs `body` with a fresh test net; removes it afterwards and checks that nothing leaked. */
async function withNet(vm: Vm, body: (net: TestNet) => Promise<void>): Promise<void> {
  const net = createTestNet();
  try {
    const before = snapshot(net);
    const fds = qemuFdCount(vm);
    const objects = await qemuObjects(vm);
    await body(net);
    expect(vm.hotplugged).toEqual([]);
    expect(qemuFdCount(vm)).toBe(fds);
    expect(await qemuObjects(vm)).toEqual(objects);
    expect(diffSnapshots(before, snapshot(net))).toEqual([]);
  } finally {
    for (const left of vm.hotplugged) await vm.detach(left.id).catch(() => undefined);
    net.remove();
  }
}

describe.runIf(prerequisite('hot-plug faults e2e', qemuMissing() ?? rootNetnsMissing()))(
  'hot-plug faults on a real QEMU and guest',
  () => {
    let vm: Vm;
    beforeAll(async () => {
      vm = await bootGuest();
    }, 120_000);
    afterAll(async () => {
      await vm?.shutdown({ timeout: 3000 });
    });

    it('T8: a device_add QEMU refuses leaves no netdev, no fd in QEMU and no host plumbing; its error is the cause', async () => {
      await withNet(vm, async (net) => {
        const execute = vm.qmp.execute.bind(vm.qmp);
        // A property virtio-net-pci does not have: QEMU itself refuses the device_add.
        vm.qmp.execute = <T>(command: string, args?: object, options?: object) =>
          execute<T>(
            command,
            command === 'device_add' ? { ...args, 'x-vml-no-such-property': 1 } : args,
            options,
          );
        try {
          const error = await vm
            .attach({ endpoint: TCFILTER, netns: net.netns })
            .catch((e: unknown) => e);
          expect(error).toBeInstanceOf(HotplugError);
          expect(error).toMatchObject({
            step: 'device_add',
            interrupted: false,
            rollbackErrors: [],
          });
          expect((error as HotplugError).cause).toBeInstanceOf(QmpCommandError);
          expect((error as Error).message).toMatch(/x-vml-no-such-property/);
        } finally {
          vm.qmp.execute = execute;
        }
      });
    });

    it('T9: the 2nd getfd of a 2-queue NIC failing in QEMU closes the 1st named fd there', async () => {
      await withNet(vm, async (net) => {
        const getfd = vm.qmp.getfd.bind(vm.qmp);
        const execute = vm.qmp.execute.bind(vm.qmp);
        let calls = 0;
        // The 2nd getfd goes out without its fd: QEMU answers "No file descriptor supplied".
        vm.qmp.getfd = (args, options) =>
          ++calls === 2
            ? execute<void>('getfd', { fdname: args.fdname }, options)
            : getfd(args, options);
        try {
          const error = await vm
            .attach({ endpoint: { ...TCFILTER, queues: 2 }, netns: net.netns })
            .catch((e: unknown) => e);
          expect(error).toBeInstanceOf(HotplugError);
          expect(error).toMatchObject({ step: 'getfd tap1', rollbackErrors: [] });
          expect((error as Error).message).toMatch(/file descriptor/i);
          expect(calls).toBe(2);
        } finally {
          vm.qmp.getfd = getfd;
        }
      });
    });

    it('T10: a pending unplug keeps the host tap and its redirects, a second detach joins it, and the late DEVICE_DELETED cleans up', async () => {
      await withNet(vm, async (net) => {
        const plain = snapshot(net);
        const nic = await vm.attach({ endpoint: TCFILTER, netns: net.netns });
        const attached = snapshot(net);
        expect(diffSnapshots(plain, attached)).not.toEqual([]);
        const first = await vm.detach(nic.id, { timeout: 1 });
        expect(first.status).toBe('pending');
        if (first.status !== 'pending') return;
        // QEMU still holds the tap: nothing host-side is removed yet, one record is kept.
        expect(snapshot(net).links).toEqual(attached.links);
        expect(snapshot(net).tc).toEqual(attached.tc);
        expect(vm.hotplugged.map((n) => n.id)).toEqual([nic.id]);
        const second = await vm.detach(nic.id, { timeout: 1 });
        if (second.status === 'pending') {
          expect(second.completion).toBe(first.completion);
          expect(vm.hotplugged.map((n) => n.id)).toEqual([nic.id]);
        }
        await first.completion;
      });
    });

    it('T12: a device_del right after device_add, while the guest still takes the NIC, ends removed and clean', async () => {
      await withNet(vm, async (net) => {
        const deviceDel = vm.qmp.deviceDel.bind(vm.qmp);
        const answers: string[] = [];
        vm.qmp.deviceDel = (args, options) =>
          deviceDel(args, options).then(
            () => void answers.push('ok'),
            (error: unknown) => {
              answers.push((error as Error).message);
              throw error;
            },
          );
        try {
          const nic = await vm.attach(
            { endpoint: TCFILTER, netns: net.netns },
            { waitForGuest: false },
          );
          const result = await vm.detach(nic.id);
          console.log(`T12 device_del answers: ${JSON.stringify(answers)}`);
          expect(result.status).toBe('removed');
          // Each refusal QEMU gave was a busy guest, retried; the last answer is the success.
          expect(answers.at(-1)).toBe('ok');
          for (const refusal of answers.slice(0, -1)) expect(refusal).toMatch(/busy/);
        } finally {
          vm.qmp.deviceDel = deviceDel;
        }
      });
    });

    // Last: the guest reboots.
    it('T13: a guest reset during a pending unplug completes the removal', async () => {
      await withNet(vm, async (net) => {
        const nic = await vm.attach({ endpoint: TCFILTER, netns: net.netns });
        const result = await vm.detach(nic.id, { timeout: 1 });
        expect(result.status).toBe('pending');
        if (result.status !== 'pending') return;
        await vm.qmp.systemReset();
        await result.completion;
      });
    });
  },
);
