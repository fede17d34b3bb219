// vm.attach() against a scripted QEMU for vhost-user and VFIO (transcripts only: this kernel has
// no VFIO), and the waits for the guest: before device_add (readiness) and after it (the NIC).
import { describe, expect, it } from 'vitest';
import { attachNic } from '../../../../launcher/hotplug/attach.js';
import { detachNic } from '../../../../launcher/hotplug/detach.js';
import type { HotplugError } from '../../../../launcher/hotplug/errors.js';
import { settle } from '../qmp/connected.js';
import { failingAttach, rigPerTest, TAP } from './harness.js';

const start = rigPerTest();

describe('other kinds', () => {
  it('vhost-user: chardev-add, netdev_add vhost-user, device_add; rollback removes netdev then chardev', async () => {
    const rg = await start({
      sharedMemory: true,
      nic: () => ({
        kind: 'vhost-user',
        id: 'x',
        mac: '52:54:00:00:00:02',
        queues: 1,
        socketPath: '/run/vu.sock',
        mode: 'client',
      }),
      script: (c) => (c.execute === 'device_add' ? { error: 'no' } : undefined),
    });
    const error = await failingAttach(rg, {
      endpoint: { kind: 'vhost-user', socketPath: '/run/vu.sock', mode: 'client' },
    });
    expect(error.step).toBe('device_add');
    const sent = rg.qemu.fake.received.slice(1);
    expect(sent[0]).toMatchObject({
      execute: 'chardev-add',
      arguments: {
        id: 'chr-hp0',
        backend: {
          type: 'socket',
          data: {
            addr: { type: 'unix', data: { path: '/run/vu.sock' } },
            server: false,
            reconnect: 1,
          },
        },
      },
    });
    expect(sent[1]).toMatchObject({
      execute: 'netdev_add',
      arguments: { type: 'vhost-user', id: 'netdev-hp0', chardev: 'chr-hp0', queues: 1 },
    });
    expect(rg.qemu.transcript.slice(4)).toEqual([
      'netdev_del netdev-hp0',
      'chardev-remove chr-hp0',
    ]);
    expect(rg.qemu.chardevs.size).toBe(0);
  });

  it('VFIO: device_add vfio-pci host= on the root port; detach is device_del alone, then the host side', async () => {
    const rg = await start({ nic: () => ({ kind: 'vfio', id: 'x', pciAddress: '0000:01:00.0' }) });
    const nic = await attachNic(
      rg.ctx,
      { endpoint: { kind: 'physical', pciAddress: '0000:01:00.0' } },
      { id: 'pf0' },
    );
    expect(nic).toMatchObject({ id: 'pf0', bus: 'rp0', mac: '' });
    expect(rg.qemu.fake.received.slice(1)).toMatchObject([
      {
        execute: 'device_add',
        arguments: { driver: 'vfio-pci', id: 'nic-pf0', host: '0000:01:00.0', bus: 'rp0' },
      },
    ]);
    rg.qemu.script = (c) =>
      c.execute === 'device_del'
        ? { events: [['DEVICE_DELETED', { device: 'nic-pf0' }]] }
        : undefined;
    expect(await detachNic(rg.ctx, 'pf0')).toMatchObject({ status: 'removed' });
    expect(rg.qemu.transcript.slice(2)).toEqual(['device_del nic-pf0']);
    expect(rg.host.detached).toBe(1);
  });
});

describe('waiting for the guest', () => {
  it('sends no device_add before the guest is ready', async () => {
    let ready!: () => void;
    const gate = new Promise<void>((resolve) => (ready = resolve));
    const rg = await start({ guest: { waitReady: () => gate } });
    const attached = attachNic(rg.ctx, TAP, { id: 'hp0' });
    await settle(50);
    expect(rg.qemu.transcript).toEqual(['qmp_capabilities']);
    ready();
    await attached;
    expect(rg.qemu.transcript.at(-1)).toBe('device_add nic-hp0');
  });

  it('fails saying why when the guest never gets ready, having sent nothing', async () => {
    const rg = await start({
      guest: {
        waitReady: () =>
          Promise.reject(new Error('no VMLAUNCH-GUEST-READY on the console within 50 ms')),
      },
    });
    const error = await failingAttach(rg);
    expect(error.step).toBe('wait-guest-ready');
    expect(error.message).toMatch(/GUEST-READY/);
    expect(rg.qemu.transcript).toEqual(['qmp_capabilities']);
  });

  it('with waitForGuest, unplugs again when the guest never shows the NIC', async () => {
    const rg = await start({
      guest: {
        waitReady: () => Promise.resolve(),
        exec: () => Promise.resolve({ output: '', status: 0 }),
      },
      script: (c) =>
        c.execute === 'device_del'
          ? { events: [['DEVICE_DELETED', { device: 'nic-hp0' }]] }
          : undefined,
    });
    const error = await attachNic(rg.ctx, TAP, { id: 'hp0', timeout: 300 }).catch(
      (e: unknown) => e as HotplugError,
    );
    expect(error).toMatchObject({ step: 'guest-sees-nic' });
    expect(rg.qemu.transcript.slice(-2)).toEqual(['device_del nic-hp0', 'netdev_del netdev-hp0']);
    expect(rg.qemu.openFds).toBe(0);
    expect(rg.host.detached).toBe(1);
  });
});
