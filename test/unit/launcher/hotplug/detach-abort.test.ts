// T27 for vm.detach() against a scripted QEMU. An abort before QEMU accepted device_del (an
// already aborted signal, or during a busy backoff) rejects with ABORTED and leaves the
// NIC attached; once QEMU has the request, an abort stops the wait and leaves one pending
// unplug whose host side goes only when the guest releases the device (never under QEMU).
// Fault ids (T1...T35) are defined in docs/faults.md.
import { describe, expect, it } from 'vitest';
import { attachNic } from '../../../../launcher/hotplug/attach.js';
import { detachNic } from '../../../../launcher/hotplug/detach.js';
import type { HotplugError } from '../../../../launcher/hotplug/errors.js';
import type { DetachResult } from '../../../../launcher/hotplug/types.js';
import { settle } from '../qmp/connected.js';
import { rigPerTest, TAP, type Rig, type Script } from './harness.js';

const start = rigPerTest();

// A rig with hp0 attached; `script` then drives the unplug.
async function attached(script: Script): Promise<Rig> {
  const rg = await start();
  await attachNic(rg.ctx, TAP, { id: 'hp0' });
  rg.qemu.script = script;
  return rg;
}

// hp0 attached with its host side and its root port, as before the detach.
function stillAttached(rg: Rig): void {
  expect(rg.ctx.registry.list().map((r) => [r.nic.id, r.state])).toEqual([['hp0', 'attached']]);
  expect(rg.ctx.registry.occupancy.get('rp0')).toBe('hp0');
  expect(rg.qemu.devices.has('nic-hp0')).toBe(true);
  expect(rg.qemu.openFds).toBe(1);
  expect(rg.host.detached).toBe(0);
}

// The guest releases hp0 on the next device_del: the detach that follows completes.
async function detachForGood(rg: Rig): Promise<void> {
  rg.qemu.script = (c) => {
    if (c.execute === 'device_del') setTimeout(() => rg.qemu.deleted('nic-hp0'), 5);
    return undefined;
  };
  expect(await detachNic(rg.ctx, 'hp0')).toMatchObject({ status: 'removed' });
  expect(rg.qemu.openFds).toBe(0);
  expect(rg.host.detached).toBe(1);
  expect(rg.ctx.registry.list()).toEqual([]);
}

function pending(result: DetachResult): Extract<DetachResult, { status: 'pending' }> {
  expect(result.status).toBe('pending');
  return result as Extract<DetachResult, { status: 'pending' }>;
}

describe('T27: aborting a detach', () => {
  it('an already aborted signal sends no device_del: ABORTED, the NIC stays attached', async () => {
    const rg = await attached(() => undefined);
    const sent = rg.qemu.transcript.length;
    const ctl = new AbortController();
    ctl.abort(new Error('changed my mind'));
    const error = await detachNic(rg.ctx, 'hp0', { signal: ctl.signal }).catch(
      (e: unknown) => e as HotplugError,
    );
    expect(error).toMatchObject({ code: 'ABORTED', step: 'device_del', aborted: true });
    expect((error as HotplugError).cause).toBe(ctl.signal.reason);
    expect(rg.qemu.transcript).toHaveLength(sent);
    stillAttached(rg);
    await detachForGood(rg);
  });

  it('an abort during the busy backoff stops retrying at once; the NIC stays attached', async () => {
    const rg = await attached((c) =>
      c.execute === 'device_del'
        ? { error: 'guest is busy (power indicator blinking)' }
        : undefined,
    );
    const ctl = new AbortController();
    const started = Date.now();
    const detaching = detachNic(rg.ctx, 'hp0', { signal: ctl.signal });
    await settle(50); // the first device_del was refused; the 300 ms backoff runs
    ctl.abort();
    const error = await detaching.catch((e: unknown) => e as HotplugError);
    expect(Date.now() - started).toBeLessThan(250);
    expect(error).toMatchObject({ code: 'ABORTED', step: 'device_del' });
    expect(rg.qemu.transcript.filter((t) => t.startsWith('device_del'))).toHaveLength(1);
    stillAttached(rg);
    await detachForGood(rg);
  });

  it('an abort while device_del is on its way waits for its answer: accepted, so pending', async () => {
    const rg = await attached((c) => (c.execute === 'device_del' ? 'silence' : undefined));
    const ctl = new AbortController();
    const detaching = detachNic(rg.ctx, 'hp0', { signal: ctl.signal });
    await settle();
    ctl.abort();
    await settle();
    rg.qemu.fake.reply(rg.qemu.fake.received.at(-1)!); // QEMU took the request
    const result = pending(await detaching);
    expect(result.explanation).toMatch(/aborted/);
    expect(rg.ctx.registry.get('hp0')?.state).toBe('pending');
    expect(rg.host.detached).toBe(0);
    rg.qemu.deleted('nic-hp0'); // the guest lets go after all
    await result.completion;
    expect(rg.qemu.openFds).toBe(0);
    expect(rg.host.detached).toBe(1);
    expect(rg.ctx.registry.list()).toEqual([]);
  });

  it('an abort while waiting for DEVICE_DELETED leaves one pending unplug; the host side goes only after the late event', async () => {
    const rg = await attached(() => undefined); // device_del accepted, the guest says nothing
    const ctl = new AbortController();
    const started = Date.now();
    const detaching = detachNic(rg.ctx, 'hp0', { signal: ctl.signal, timeout: 10_000 });
    await settle(50);
    ctl.abort();
    const result = pending(await detaching);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(result.explanation).toMatch(/aborted the wait/);
    expect(rg.ctx.registry.list().map((r) => r.state)).toEqual(['pending']);
    expect(rg.ctx.registry.occupancy.get('rp0')).toBe('hp0');
    expect(rg.qemu.openFds).toBe(1); // QEMU still holds the tap
    expect(rg.host.detached).toBe(0);
    // Later operations still work: another NIC attaches on the other port meanwhile.
    await attachNic(rg.ctx, TAP, { id: 'hp1' });
    expect(rg.ctx.registry.occupancy.get('rp1')).toBe('hp1');
    rg.qemu.deleted('nic-hp0');
    await result.completion;
    expect(rg.qemu.netdevs.has('netdev-hp0')).toBe(false);
    expect(rg.host.detached).toBe(1);
    expect(rg.ctx.registry.list().map((r) => r.nic.id)).toEqual(['hp1']);
    expect(rg.ctx.registry.occupancy.get('rp0')).toBeUndefined();
  });

  it('an abort of a second detach of a pending NIC stops its wait at once, still pending', async () => {
    const rg = await attached(() => undefined); // device_del accepted, the guest says nothing
    pending(await detachNic(rg.ctx, 'hp0', { timeout: 50 }));
    rg.qemu.script = (c) =>
      c.execute === 'device_del'
        ? { error: 'Device nic-hp0 is already in the process of unplug' }
        : undefined;
    const ctl = new AbortController();
    const started = Date.now();
    const again = detachNic(rg.ctx, 'hp0', { signal: ctl.signal, timeout: 10_000 });
    await settle(50);
    ctl.abort();
    const result = pending(await again);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(result.explanation).toMatch(/aborted the wait/);
    expect(rg.host.detached).toBe(0);
    rg.qemu.deleted('nic-hp0');
    await result.completion;
    expect(rg.host.detached).toBe(1);
    expect(rg.ctx.registry.list()).toEqual([]);
  });
});
