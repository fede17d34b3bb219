// vm.detach() against a scripted QEMU: DEVICE_DELETED then backend and host side; busy retry;
// the guest refusing; a timeout that leaves exactly one pending record, finished later by the
// late event, a guest reset, or QEMU's exit. Nothing waits forever.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { describe, expect, it } from 'vitest';
import { attachNic } from '../../../../launcher/hotplug/attach.js';
import { detachNic } from '../../../../launcher/hotplug/detach.js';
import {
  HotplugError,
  HotplugStateError,
  UnplugRejectedError,
} from '../../../../launcher/hotplug/errors.js';
import type { DetachResult } from '../../../../launcher/hotplug/types.js';
import { settle } from '../qmp/connected.js';
import { rigPerTest, TAP, type Rig, type Script } from './harness.js';

const start = rigPerTest();

// A rig with one tap NIC hp0 attached; `script` then drives the unplug.
async function attached(script: Script): Promise<Rig> {
  const r = await start();
  await attachNic(r.ctx, TAP, { id: 'hp0' });
  r.qemu.script = script;
  return r;
}

const DELETED: [string, object] = [
  'DEVICE_DELETED',
  { device: 'nic-hp0', path: '/machine/peripheral/nic-hp0' },
];
const onDeviceDel =
  (answer: ReturnType<Script>): Script =>
  (c, n) =>
    c.execute === 'device_del' && n === 1 ? answer : undefined;

function pending(result: DetachResult): Extract<DetachResult, { status: 'pending' }> {
  expect(result.status).toBe('pending');
  return result as Extract<DetachResult, { status: 'pending' }>;
}

describe('detaching a NIC', () => {
  it('waits for DEVICE_DELETED, then removes the netdev and the host side', async () => {
    const rg = await attached(onDeviceDel({ events: [DELETED] }));
    const result = await detachNic(rg.ctx, 'hp0');
    expect(result).toMatchObject({ status: 'removed', id: 'hp0' });
    expect(rg.qemu.transcript.slice(-2)).toEqual(['device_del nic-hp0', 'netdev_del netdev-hp0']);
    expect(rg.qemu.openFds).toBe(0);
    expect(rg.host.detached).toBe(1);
    expect(rg.ctx.registry.list()).toEqual([]);
    expect(rg.ctx.registry.occupancy.get('rp0')).toBeUndefined();
  });

  it('catches a DEVICE_DELETED that arrives before the device_del reply (listener registered first)', async () => {
    const rg = await attached(onDeviceDel('silence'));
    const detaching = detachNic(rg.ctx, 'hp0');
    await settle();
    const del = rg.qemu.fake.received.at(-1)!;
    rg.qemu.fake.event(...DELETED);
    rg.qemu.fake.reply(del);
    expect(await detaching).toMatchObject({ status: 'removed' });
  });

  it('T12: retries with backoff while QEMU says the guest is busy', async () => {
    const busy = { error: 'Hot-unplug failed: guest is busy (power indicator blinking)' };
    const rg = await attached((c, n) =>
      c.execute === 'device_del' ? (n < 3 ? busy : { events: [DELETED] }) : undefined,
    );
    const result = await detachNic(rg.ctx, 'hp0');
    expect(result.status).toBe('removed');
    expect(rg.qemu.transcript.filter((t) => t.startsWith('device_del'))).toHaveLength(3);
    expect(result.ms).toBeGreaterThanOrEqual(300 + 600 - 50);
  });

  it('T12: gives up after the retries with the error; the NIC stays attached', async () => {
    const rg = await attached((c) =>
      c.execute === 'device_del' ? { error: 'guest is busy' } : undefined,
    );
    const error = await detachNic(rg.ctx, 'hp0', { timeout: 5000 }).catch(
      (e: unknown) => e as HotplugError,
    );
    expect(error).toBeInstanceOf(HotplugError);
    expect(error).toMatchObject({ step: 'device_del' });
    expect(rg.qemu.transcript.filter((t) => t.startsWith('device_del'))).toHaveLength(4);
    expect(rg.ctx.registry.get('hp0')?.state).toBe('attached');
    expect(rg.host.detached).toBe(0);
  });

  it('T11: DEVICE_UNPLUG_GUEST_ERROR -> UnplugRejectedError; the device stays, nothing removed on the host', async () => {
    const rg = await attached(
      onDeviceDel({ events: [['DEVICE_UNPLUG_GUEST_ERROR', { device: 'nic-hp0', path: '/x' }]] }),
    );
    await expect(detachNic(rg.ctx, 'hp0')).rejects.toBeInstanceOf(UnplugRejectedError);
    expect(rg.qemu.transcript.at(-1)).toBe('device_del nic-hp0');
    expect(rg.host.detached).toBe(0);
    expect(rg.ctx.registry.get('hp0')?.state).toBe('attached');
  });

  it('refuses an id that is not hot-plugged', async () => {
    const rg = await attached(() => undefined);
    await expect(detachNic(rg.ctx, 'nope')).rejects.toBeInstanceOf(HotplugStateError);
  });
});

describe('an unplug the guest does not finish in time (T10)', () => {
  it('reports pending with an explanation, keeps the host side and exactly one record; the late event completes it', async () => {
    const rg = await attached(() => undefined);
    const result = pending(await detachNic(rg.ctx, 'hp0', { timeout: 100 }));
    expect(result.explanation).toMatch(/QEMU still holds the device.*DEVICE_DELETED/s);
    expect(rg.host.detached).toBe(0);
    expect(rg.qemu.netdevs.size).toBe(1);
    expect(rg.ctx.registry.list().map((x) => [x.nic.id, x.state])).toEqual([['hp0', 'pending']]);

    // A second detach re-sends device_del; QEMU says it is already unplugging: still one record.
    rg.qemu.script = (c) =>
      c.execute === 'device_del'
        ? { error: 'Device nic-hp0 is already in the process of unplug' }
        : undefined;
    const again = pending(await detachNic(rg.ctx, 'hp0', { timeout: 100 }));
    expect(again.completion).toBe(result.completion);
    expect(rg.ctx.registry.list()).toHaveLength(1);

    rg.qemu.deleted('nic-hp0');
    await result.completion;
    expect(rg.qemu.transcript.at(-1)).toBe('netdev_del netdev-hp0');
    expect(rg.qemu.openFds).toBe(0);
    expect(rg.host.detached).toBe(1);
    expect(rg.ctx.registry.list()).toEqual([]);
  });

  it('T13: a guest reset completes the pending removal (QEMU emits DEVICE_DELETED after RESET)', async () => {
    const rg = await attached(() => undefined);
    const result = pending(await detachNic(rg.ctx, 'hp0', { timeout: 50 }));
    rg.qemu.script = (c) =>
      c.execute === 'system_reset' ? { events: [['RESET', { guest: false }], DELETED] } : undefined;
    await rg.qmp.systemReset();
    await result.completion;
    expect(rg.host.detached).toBe(1);
    expect(rg.ctx.registry.list()).toEqual([]);
  });

  it('QEMU exiting completes it: the host side is removed, no QMP is sent to the dead monitor', async () => {
    const rg = await attached(() => undefined);
    const result = pending(await detachNic(rg.ctx, 'hp0', { timeout: 50 }));
    const sent = rg.qemu.fake.received.length;
    rg.qemu.die();
    await result.completion;
    expect(rg.qemu.fake.received).toHaveLength(sent);
    expect(rg.host.detached).toBe(1);
    expect(rg.ctx.registry.list()).toEqual([]);
  });

  it('a late DEVICE_UNPLUG_GUEST_ERROR rejects the completion and puts the NIC back to attached', async () => {
    const rg = await attached(() => undefined);
    const result = pending(await detachNic(rg.ctx, 'hp0', { timeout: 50 }));
    rg.qemu.fake.event('DEVICE_UNPLUG_GUEST_ERROR', { device: 'nic-hp0', path: '/x' });
    await expect(result.completion).rejects.toBeInstanceOf(UnplugRejectedError);
    expect(rg.ctx.registry.get('hp0')?.state).toBe('attached');
    expect(rg.host.detached).toBe(0);
  });

  it('VM exit cleans up every hot-plugged NIC once, however many paths ask', async () => {
    const rg = await attached(() => undefined);
    await attachNic(rg.ctx, TAP, { id: 'hp1' });
    const result = pending(await detachNic(rg.ctx, 'hp0', { timeout: 50 }));
    rg.qemu.die();
    await Promise.all([rg.ctx.registry.vmExited(), result.completion]);
    expect(rg.host.detached).toBe(2);
    expect(rg.ctx.registry.list()).toEqual([]);
  });
});
