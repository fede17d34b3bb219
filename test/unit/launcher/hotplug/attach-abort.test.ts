// T27 for vm.attach() against a scripted QEMU: the caller's AbortSignal fires at each await point
// of an attach in turn (the guest's readiness, the host side's steps, QEMU receiving each plug
// command, the client receiving each reply, each guest poll for the NIC). Every time: a
// HotplugError coded ABORTED naming the step, and QEMU's fd table and objects, our fds,
// the host side and the registry (ports, ids) exactly as before; then a plain attach and detach
// of the same id on the same VM still work.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { describe, expect, it } from 'vitest';
import { attachNic } from '../../../../launcher/hotplug/attach.js';
import { detachNic } from '../../../../launcher/hotplug/detach.js';
import { HotplugError } from '../../../../launcher/hotplug/errors.js';
import type { HostNic } from '../../../../network/host-nic.js';
import {
  abortRigOptions,
  books,
  instrumentQmp,
  steppedHost,
  Tripwire,
  type HostBooks,
} from './abort-points.js';
import { rigPerTest, TAP, tapNic, type Rig } from './harness.js';

const start = rigPerTest();

interface Variant {
  name: string;
  nic: () => HostNic;
  /** The plug pipeline's steps, in the order they are sent. */
  pipeline: string[];
  sharedMemory?: boolean;
}

const VARIANTS: Variant[] = [
  {
    name: 'a tap NIC',
    nic: () => tapNic('x', 1),
    pipeline: ['getfd tap0', 'netdev_add', 'device_add'],
  },
  {
    name: 'a 2-queue tap NIC (the second getfd waits in the fd lane)',
    nic: () => tapNic('x', 2),
    pipeline: ['getfd tap0', 'getfd tap1', 'netdev_add', 'device_add'],
  },
  {
    name: 'a vhost-user NIC',
    nic: () => ({
      kind: 'vhost-user',
      id: 'x',
      mac: '52:54:00:00:00:02',
      queues: 1,
      socketPath: '/run/vu.sock',
      mode: 'client',
    }),
    pipeline: ['chardev-add', 'netdev_add', 'device_add'],
    sharedMemory: true,
  },
];

// The steps an abort at `point` may be reported at (a pipelined reply can be read before the
// abort lands, so a QMP abort names a step at or before the command, or after the reply).
function stepsFor(point: string, pipeline: string[]): string[] {
  if (point === 'wait-guest-ready') return ['wait-guest-ready'];
  if (point.startsWith('host: ')) return ['host-attach'];
  if (point.startsWith('guest poll ')) return ['guest-sees-nic'];
  const got = /^QEMU got (.+)$/.exec(point)?.[1];
  if (got !== undefined) return pipeline.slice(0, pipeline.indexOf(got) + 1);
  const reply = /^reply (.+)$/.exec(point)?.[1];
  if (reply !== undefined)
    return [...pipeline.slice(pipeline.indexOf(reply) + 1), 'guest-sees-nic'];
  throw new Error(`unknown point ${point}`);
}

// A plain attach and detach of hp0: the VM still takes NICs, and gives them back.
async function attachAndDetach(rg: Rig): Promise<void> {
  const nic = await attachNic(rg.ctx, TAP, { id: 'hp0' });
  expect(nic).toMatchObject({ id: 'hp0', guestIfname: 'eth1' });
  expect(await detachNic(rg.ctx, 'hp0')).toMatchObject({ status: 'removed' });
}

async function instrumentedRig(variant: Variant) {
  const trip = new Tripwire();
  const ref: { rg?: Rig } = {};
  const rg = await start(
    abortRigOptions(trip, ref, {
      nic: variant.nic,
      ...(variant.sharedMemory ? { sharedMemory: true } : {}),
    }),
  );
  ref.rg = rg;
  const host: HostBooks = steppedHost(rg, trip);
  instrumentQmp(rg, trip);
  return { rg, trip, host };
}

describe('T27: aborting an attach at each await point', () => {
  for (const variant of VARIANTS) {
    it(`${variant.name}: every abort undoes steps 1..k-1, names the step, and the VM still takes NICs`, async () => {
      const { rg, trip, host } = await instrumentedRig(variant);
      const baseline = books(rg, host);

      // A clean run lists the await points.
      await attachNic(rg.ctx, TAP, { id: 'hp0', signal: trip.arm(0) });
      const points = [...trip.reached];
      trip.disarm();
      expect(await detachNic(rg.ctx, 'hp0')).toMatchObject({ status: 'removed' });
      expect(books(rg, host)).toEqual(baseline);
      expect(new Set(points)).toEqual(
        new Set([
          'wait-guest-ready',
          'host: first step',
          'host: last step',
          ...variant.pipeline.flatMap((step) => [`QEMU got ${step}`, `reply ${step}`]),
          'guest poll 1',
          'guest poll 2',
        ]),
      );

      const steps = new Set<string>();
      for (let k = 1; k <= points.length; k++) {
        const signal = trip.arm(k);
        const error = await attachNic(rg.ctx, TAP, { id: 'hp0', signal }).then(
          () => undefined,
          (e: unknown) => e,
        );
        trip.disarm();
        const at = `abort at ${String(trip.firedAt)} (point ${k})`;
        expect(error, at).toBeInstanceOf(HotplugError);
        const e = error as HotplugError;
        expect(e.code, `${at}: ${e.message}`).toBe('ABORTED');
        expect(e.aborted, at).toBe(true);
        expect(e.rollbackErrors, at).toEqual([]);
        expect(stepsFor(trip.firedAt!, variant.pipeline), at).toContain(e.step);
        steps.add(e.step);
        expect(books(rg, host), at).toEqual(baseline);

        await attachAndDetach(rg);
        expect(books(rg, host), `${at}, then attach + detach`).toEqual(baseline);
      }
      // Each step of the attach was named by some abort.
      for (const step of ['wait-guest-ready', 'host-attach', 'guest-sees-nic']) {
        expect(steps).toContain(step);
      }
      // QEMU answers one command at a time here, so an abort lands before each reply in turn.
      for (const step of variant.pipeline) expect(steps).toContain(step);
    }, 60_000);
  }

  it('an already aborted signal sends nothing to QEMU and touches nothing on the host', async () => {
    const { rg, host } = await instrumentedRig(VARIANTS[0]!);
    const baseline = books(rg, host);
    const ctl = new AbortController();
    ctl.abort();
    const error = await attachNic(rg.ctx, TAP, { id: 'hp0', signal: ctl.signal }).catch(
      (e: unknown) => e as HotplugError,
    );
    expect(error).toMatchObject({ code: 'ABORTED', step: 'wait-guest-ready' });
    expect(rg.qemu.transcript).toEqual(['qmp_capabilities']);
    expect(host.attached).toBe(0);
    expect(books(rg, host)).toEqual(baseline);
    await attachAndDetach(rg);
  });

  it('an abort after the attach resolved changes nothing: the NIC stays attached', async () => {
    const { rg, host } = await instrumentedRig(VARIANTS[0]!);
    const ctl = new AbortController();
    const nic = await attachNic(rg.ctx, TAP, { id: 'hp0', signal: ctl.signal });
    ctl.abort();
    expect(nic.id).toBe('hp0');
    expect(rg.ctx.registry.list().map((r) => r.state)).toEqual(['attached']);
    expect(rg.qemu.devices.has('nic-hp0')).toBe(true);
    expect(host.detached).toBe(0);
    expect(await detachNic(rg.ctx, 'hp0')).toMatchObject({ status: 'removed' });
  });
});
