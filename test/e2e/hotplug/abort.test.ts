// T27 on the real QEMU 7.2 and the default guest: vm.attach() of a tcfilter veth aborted at each
// await point in turn: an already aborted signal, after each netlink call of the host-side
// attach (a real netlink client that aborts the signal once call k returned), as each QMP call
// is written and as its reply arrives, and while the guest is polled for the NIC. Every time: a
// HotplugError coded ABORTED naming the step; QEMU's /proc/<pid>/fd count, its
// peripherals and `info network`, our fds, the test netns' links and tc, our crash journal
// entries and the VM's hot-plug registry equal the baseline; then a plain attach (the guest sees
// the NIC) and detach on the same VM still work. And vm.detach() aborted before and after QEMU
// accepted device_del: the NIC stays attached, or is a pending unplug whose host side goes only
// once the guest released the device.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HotplugError } from '../../../launcher/hotplug/errors.js';
import { launchWithDeps } from '../../../launcher/launch.js';
import type { Vm } from '../../../launcher/vm.js';
import { attachEndpoint } from '../../../network/endpoints/attach.js';
import type { AttachContext } from '../../../network/endpoints/attach-types.js';
import type { Endpoint } from '../../../network/endpoints/types.js';
import { defaultJournalDir } from '../../../network/journal/store.js';
import { openNetlink } from '../../../network/netlink/index.js';
import { defaultGuest, HARNESS_CMDLINE, qemuMissing } from '../../helpers/guest.js';
import { diffSnapshots, takeSnapshot } from '../../helpers/leaks.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { faultyClient } from '../../integration/network/endpoints/fault-client.js';
import { createTestNet, qemuFdCount, type TestNet } from './fixture.js';

const TCFILTER = { kind: 'veth' as const, name: 'eth0', interworking: 'tcfilter' as const };

/** Where the next attach aborts its signal: after host netlink call k, or at a named point. */
type Fault = { host: number; ctl: AbortController } | { point: string; ctl: AbortController };

let fault: Fault | undefined;
/** The netlink calls the last faulty host attach made. */
let hostCalls: string[] = [];

// The host-side attach the VM uses: the real one, on a real netlink client that aborts the
// signal once call number `fault.host` has returned.
async function hostAttach(endpoint: Endpoint, ctx: AttachContext) {
  const f = fault;
  if (f === undefined || !('host' in f)) return attachEndpoint(endpoint, ctx);
  const real = openNetlink(ctx.netns);
  const { client, calls } = faultyClient(real, { at: f.host, kind: 'abort', ctl: f.ctl });
  try {
    return await attachEndpoint(endpoint, { ...ctx, netlink: client });
  } finally {
    hostCalls = [...calls];
    await real.close(); // detach opens a client of its own
  }
}

// Aborts when the armed named point is reached: at once, or from the next turn of the event
// loop (`later`), as an abort coming from a timer or a socket does.
function reach(point: string, later = false): void {
  if (fault === undefined || !('point' in fault) || fault.point !== point) return;
  const ctl = fault.ctl;
  fault = undefined;
  const abort = (): void => ctl.abort(new Error(`test abort at ${point}`));
  if (later) setImmediate(abort);
  else abort();
}

// Makes each plug command's write and its reply a point, and each guest poll.
function instrument(vm: Vm): void {
  const execute = vm.qmp.execute.bind(vm.qmp);
  const withFds = vm.qmp.executeWithFds.bind(vm.qmp);
  const plug = new Set(['getfd', 'netdev_add', 'device_add', 'device_del']);
  const around = <T>(command: string, reply: Promise<T>): Promise<T> => {
    if (!plug.has(command)) return reply;
    // A call's abort comes from the next turn: one in the same tick as a getfd whose fd is still
    // being sent trips an unhandled rejection in launcher/qmp/connection.ts (reported).
    reach(`call ${command}`, true);
    return reply.then((value) => {
      reach(`reply ${command}`);
      return value;
    });
  };
  vm.qmp.execute = <T>(command: string, args?: object, options?: object) =>
    around(command, execute<T>(command, args, options));
  vm.qmp.executeWithFds = <T>(
    command: string,
    args: object | undefined,
    fds: number[],
    o?: object,
  ) => around(command, withFds<T>(command, args, fds, o));
  const exec = vm.guest.exec.bind(vm.guest);
  vm.guest.exec = (command, options) => {
    reach('guest poll');
    return exec(command, options);
  };
}

/** The steps after the host side, in order. */
const LATER_STEPS = ['getfd tap0', 'getfd tap1', 'netdev_add', 'device_add', 'guest-sees-nic'];

// The steps an abort at `point` may name: as a command is written, any QMP step (pipelined
// calls before it may still wait for their replies) or a later one (replies often come
// together); as its reply comes in, a step after it.
function stepsFor(point: string): string[] {
  const [kind, what] = point.split(' ');
  if (kind === 'guest') return ['guest-sees-nic'];
  if (kind === 'call') return LATER_STEPS;
  return LATER_STEPS.slice(LATER_STEPS.findIndex((step) => step.startsWith(what!)) + 1);
}

/** QMP and guest points in the order an attach reaches them (each armed point fires at its
 *  first occurrence: for getfd, the first queue's). */
const QMP_POINTS = [
  'call getfd',
  'reply getfd',
  'call netdev_add',
  'call device_add',
  'reply netdev_add',
  'reply device_add',
  'guest poll',
];

/** QEMU's own view: peripheral device ids and the netdevs `info network` lists. */
async function qemuObjects(vm: Vm): Promise<{ devices: string[]; network: string }> {
  const devices = (await vm.qmp.qomList({ path: '/machine/peripheral' }))
    .filter((p) => p.type.startsWith('child<'))
    .map((p) => p.name)
    .sort();
  const network = await vm.qmp.humanMonitorCommand({ commandLine: 'info network' });
  return { devices, network };
}

// Our entries in the crash journal (other processes' tests write there too).
function journalEntries(): string[] {
  const dir = defaultJournalDir();
  const ours = (name: string): boolean => name.startsWith(`${process.pid}-`);
  return existsSync(dir) ? readdirSync(dir).filter(ours).sort() : [];
}

/** Our fds and children, and this test's two netns with their links and tc (other tests make
 *  vml-hp netns of their own meanwhile). */
function snapshot(net: TestNet) {
  return takeSnapshot({
    netns: [net.netns, net.peer],
    netnsFilter: (n) => n === net.netns || n === net.peer,
  });
}

/** Everything T27 compares with the baseline. */
async function books(vm: Vm) {
  return {
    hotplugged: vm.hotplugged.map((n) => n.id),
    qemuFds: qemuFdCount(vm),
    qemu: await qemuObjects(vm),
    journal: journalEntries(),
  };
}

describe.runIf(prerequisite('hot-plug abort e2e', qemuMissing() ?? rootNetnsMissing()))(
  'T27: aborting hot-plug on a real QEMU and guest',
  () => {
    let vm: Vm;
    let net: TestNet;
    beforeAll(async () => {
      const guest = await defaultGuest();
      vm = await launchWithDeps(
        { kernel: guest.kernel, initrd: guest.initrd, cmdline: HARNESS_CMDLINE },
        { attach: hostAttach },
      );
      await vm.guest.waitReady({ timeout: 90_000 });
      instrument(vm);
      net = createTestNet();
    }, 120_000);
    afterAll(async () => {
      for (const left of vm?.hotplugged ?? []) await vm.detach(left.id).catch(() => undefined);
      await vm?.shutdown({ timeout: 3000 });
      net?.remove();
    });

    // Attaches with the fault armed; expects ABORTED at one of `steps`, the baseline, and
    // that a plain attach + detach works afterwards.
    async function abortedAttach(
      armed: Fault,
      steps: string[],
      what: string,
      endpoint: Endpoint = TCFILTER,
    ): Promise<string> {
      const before = snapshot(net);
      const baseline = await books(vm);
      fault = armed;
      const error = await vm
        .attach({ endpoint, netns: net.netns }, { signal: armed.ctl.signal })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      fault = undefined;
      expect(error, what).toBeInstanceOf(HotplugError);
      const e = error as HotplugError;
      expect(e.code, `${what}: ${e.message}`).toBe('ABORTED');
      expect(e.rollbackErrors, what).toEqual([]);
      expect(steps, `${what}: reported at ${e.step}`).toContain(e.step);
      expect(await books(vm), what).toEqual(baseline);
      expect(diffSnapshots(before, snapshot(net)), what).toEqual([]);

      const nic = await vm.attach({ endpoint: TCFILTER, netns: net.netns });
      expect(nic.guestIfname, `${what}, then attach`).toMatch(/^eth\d+$/);
      expect(await vm.detach(nic.id), `${what}, then detach`).toMatchObject({ status: 'removed' });
      expect(await books(vm), `${what}, then attach + detach`).toEqual(baseline);
      expect(diffSnapshots(before, snapshot(net)), `${what}, then attach + detach`).toEqual([]);
      return e.step;
    }

    it('an already aborted signal asks nothing of anyone', async () => {
      const ctl = new AbortController();
      ctl.abort();
      await abortedAttach({ point: 'never', ctl }, ['wait-guest-ready'], 'already aborted');
    }, 60_000);

    it('an abort after each netlink call of the host-side attach undoes it and names host-attach', async () => {
      // A clean attach through the counting client lists the calls (call 0 never aborts).
      fault = { host: 0, ctl: new AbortController() };
      const nic = await vm.attach({ endpoint: TCFILTER, netns: net.netns });
      fault = undefined;
      await vm.detach(nic.id);
      const calls = [...hostCalls];
      expect(calls.length).toBeGreaterThanOrEqual(8);
      expect(calls).toContain('tc.addIngress');
      for (let k = 1; k <= calls.length; k++) {
        const what = `abort after netlink call ${k} (${calls[k - 1]})`;
        await abortedAttach({ host: k, ctl: new AbortController() }, ['host-attach'], what);
        expect(hostCalls.slice(0, k), what).toEqual(calls.slice(0, k)); // then rollback's
      }
    }, 600_000);

    it('an abort as each QMP call is written or answered, or while the guest is polled, undoes it all', async () => {
      for (const point of QMP_POINTS) {
        const ctl = new AbortController();
        await abortedAttach({ point, ctl }, stepsFor(point), `abort at ${point}`);
      }
    }, 600_000);

    it('2 queues: an abort around the first getfd (the second waits in the fd lane) leaves no fd and no half-made netdev in QEMU', async () => {
      const twoQueues: Endpoint = { ...TCFILTER, queues: 2 };
      for (const point of ['call getfd', 'reply getfd', 'call netdev_add']) {
        const ctl = new AbortController();
        const what = `2 queues, abort at ${point}`;
        await abortedAttach({ point, ctl }, stepsFor(point), what, twoQueues);
      }
    }, 600_000);

    it('detach: an abort before QEMU took device_del leaves the NIC attached; after, a pending unplug that completes by itself', async () => {
      const before = snapshot(net);
      const baseline = await books(vm);
      const nic = await vm.attach({ endpoint: TCFILTER, netns: net.netns });
      const attached = snapshot(net);

      const ctl = new AbortController();
      ctl.abort();
      const error = await vm.detach(nic.id, { signal: ctl.signal }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ABORTED', step: 'device_del' });
      expect(vm.hotplugged.map((n) => n.id)).toEqual([nic.id]);
      expect(await vm.guest.check(`ip -o link show ${nic.guestIfname}`)).toContain(nic.mac);

      // Aborted as device_del's reply comes in: QEMU took the request, the guest has yet to act.
      const later = new AbortController();
      fault = { point: 'reply device_del', ctl: later };
      const result = await vm.detach(nic.id, { signal: later.signal });
      fault = undefined;
      expect(result.status).toBe('pending');
      if (result.status !== 'pending') return;
      expect(result.explanation).toMatch(/aborted the wait/);
      // QEMU may still hold the tap: nothing host-side is removed until the guest lets go.
      expect(snapshot(net).links).toEqual(attached.links);
      expect(snapshot(net).tc).toEqual(attached.tc);
      await result.completion;
      expect(await books(vm)).toEqual(baseline);
      expect(diffSnapshots(before, snapshot(net))).toEqual([]);
    }, 120_000);
  },
);
