// vm.attach() against a scripted QEMU: the QMP transcript of each kind, and rollback from a
// failure at each step - QEMU's fd table, our fds and the host side end as they were before.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { fstatSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { attachNic } from '../../../../launcher/hotplug/attach.js';
import {
  HotplugError,
  HotplugStateError,
  NoFreeSlotError,
} from '../../../../launcher/hotplug/errors.js';
import { QmpCommandError } from '../../../../launcher/qmp/errors.js';
import { failingAttach, rigPerTest, TAP, tapNic, type FakeQemu } from './harness.js';

const start = rigPerTest();

describe('attaching a tap NIC', () => {
  it('pipelines the commands once the fds are in: device_add is on its way before netdev_add is answered', async () => {
    const rg = await start({
      script: (c) => (c.execute === 'netdev_add' ? 'apply-silently' : undefined),
    });
    const attaching = attachNic(rg.ctx, TAP, { id: 'hp0', timeout: 5000 });
    await vi.waitFor(() => expect(rg.qemu.transcript.length).toBe(4));
    expect(rg.qemu.transcript.slice(1).map((t) => t.split(' ')[0])).toEqual([
      'getfd',
      'netdev_add',
      'device_add',
    ]);
    rg.qemu.fake.reply(rg.qemu.fake.received[2]!); // netdev_add's late reply
    await expect(attaching).resolves.toMatchObject({ id: 'hp0', bus: 'rp0' });
  });

  it('passes each queue fd with getfd under a name of its own, then netdev_add and device_add on a free root port', async () => {
    const rg = await start({ nic: () => tapNic('x', 2) });
    const nic = await attachNic(rg.ctx, TAP, { id: 'hp0' });
    expect(nic).toMatchObject({ id: 'hp0', bus: 'rp0', mac: '52:54:00:00:00:01' });
    const [fd0, fd1, netdev, device] = rg.qemu.fake.received.slice(1);
    expect(fd0!.execute).toBe('getfd');
    expect(fd1!.execute).toBe('getfd');
    expect(fd0!.arguments!.fdname).toMatch(/^vml_hp0_[0-9a-f]{8}_tap0$/);
    expect(netdev).toMatchObject({
      execute: 'netdev_add',
      arguments: {
        type: 'tap',
        id: 'netdev-hp0',
        vhost: false,
        fds: `${String(fd0!.arguments!.fdname)}:${String(fd1!.arguments!.fdname)}`,
      },
    });
    expect(device).toMatchObject({
      execute: 'device_add',
      arguments: {
        driver: 'virtio-net-pci',
        id: 'nic-hp0',
        netdev: 'netdev-hp0',
        bus: 'rp0',
        mq: true,
        vectors: 6,
        romfile: '',
      },
    });
    expect(rg.qemu.netdevs.get('netdev-hp0')).toHaveLength(2);
    expect(rg.host.detached).toBe(0);
    expect(rg.ctx.registry.list().map((x) => x.nic.id)).toEqual(['hp0']);
  });

  it('uses a new fd name per operation, so a second NIC never reuses one', async () => {
    const rg = await start();
    await attachNic(rg.ctx, TAP, { id: 'a' });
    await attachNic(rg.ctx, TAP, { id: 'b' });
    const names = rg.qemu.fake.received
      .filter((c) => c.execute === 'getfd')
      .map((c) => c.arguments!.fdname);
    expect(new Set(names).size).toBe(2);
    expect(rg.qemu.devices).toEqual(new Set(['nic-a', 'nic-b']));
    expect(rg.ctx.registry.list().map((x) => x.nic.bus)).toEqual(['rp0', 'rp1']);
  });

  it('refuses when every root port is taken, naming who holds them, before sending anything', async () => {
    const rg = await start({ buses: ['rp0'] });
    await attachNic(rg.ctx, TAP, { id: 'a' });
    const sent = rg.qemu.fake.received.length;
    const error = await failingAttach(rg);
    expect(error.step).toBe('reserve-slot');
    expect(error.cause).toBeInstanceOf(NoFreeSlotError);
    expect((error.cause as Error).message).toMatch(/rp0: a/);
    expect(rg.qemu.fake.received).toHaveLength(sent);
    expect(rg.host.detached).toBe(0);
  });

  it('unplugs the device when device_add timed out after QEMU had added it, before removing the backend', async () => {
    const fake: { qemu?: FakeQemu } = {};
    const rg = await start({
      script: (c) => {
        // The guest releases the device a little after the unplug request, as a real one does.
        if (c.execute === 'device_del') setTimeout(() => fake.qemu?.deleted('nic-a'), 20);
        return c.execute === 'device_add' ? 'apply-silently' : undefined;
      },
    });
    fake.qemu = rg.qemu;
    const error = await attachNic(rg.ctx, TAP, { id: 'a', timeout: 300 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ step: 'device_add', rollbackErrors: [] });
    const t = rg.qemu.transcript;
    expect(t.indexOf('device_del nic-a')).toBeGreaterThan(t.indexOf('device_add nic-a'));
    expect(t.indexOf('netdev_del netdev-a')).toBeGreaterThan(t.indexOf('device_del nic-a'));
    expect(rg.qemu.devices.size).toBe(0);
    expect(rg.qemu.netdevs.size).toBe(0);
  });

  it('treats a device_add that added nothing (no reply, not acted on) as not added', async () => {
    const rg = await start({ script: (c) => (c.execute === 'device_add' ? 'silence' : undefined) });
    const error = await attachNic(rg.ctx, TAP, { id: 'a', timeout: 300 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ step: 'device_add' });
    expect(rg.qemu.devices.size).toBe(0);
    expect(rg.qemu.netdevs.size).toBe(0);
  });

  it('closes a given NIC fds when it fails before the host step (no free root port)', async () => {
    const rg = await start({ buses: [] });
    const nic = tapNic('x', 2);
    await expect(attachNic(rg.ctx, { nic })).rejects.toMatchObject({ step: 'reserve-slot' });
    const fds = nic.kind === 'tap' ? nic.tapFds : [];
    expect(fds).toHaveLength(2);
    for (const fd of fds) expect(() => fstatSync(fd)).toThrow();
  });

  it('refuses an id already in use and a VM that is not running, closing a given NIC fds', async () => {
    const rg = await start();
    await attachNic(rg.ctx, TAP, { id: 'a' });
    await expect(attachNic(rg.ctx, { nic: tapNic('a') })).rejects.toBeInstanceOf(HotplugStateError);
    rg.qmp.close();
    await expect(attachNic(rg.ctx, { nic: tapNic('b') })).rejects.toThrow(/not running/);
  });
});

describe('rolling back a failed attach', () => {
  it('T9: the 2nd getfd of a multi-queue NIC fails -> the 1st named fd is closed with closefd', async () => {
    const rg = await start({
      nic: () => tapNic('x', 2),
      script: (c, n) => (c.execute === 'getfd' && n === 2 ? { error: 'injected' } : undefined),
    });
    const error = await failingAttach(rg);
    expect(error.step).toBe('getfd tap1');
    expect(error.cause).toBeInstanceOf(QmpCommandError);
    expect(error.interrupted).toBe(false);
    expect(rg.qemu.transcript.slice(1).map((t) => t.replace(/_[0-9a-f]{8}_/, '_*_'))).toEqual([
      'getfd vml_hp0_*_tap0',
      'getfd vml_hp0_*_tap1',
      // no netdev_add: QEMU 7.2 would half-build a netdev from the fds it has
      'closefd vml_hp0_*_tap1', // "not found": fine, it never got there
      'closefd vml_hp0_*_tap0',
    ]);
    expect(rg.qemu.openFds).toBe(0);
    expect(rg.host.detached).toBe(1);
    expect(rg.ctx.registry.list()).toEqual([]);
    expect(rg.ctx.registry.occupancy.get('rp0')).toBeUndefined();
  });

  it('a refused getfd of a single-queue NIC: netdev_add and device_add were pipelined and refused too, nothing is left', async () => {
    const rg = await start({
      script: (c) => (c.execute === 'getfd' ? { error: 'injected' } : undefined),
    });
    const error = await failingAttach(rg);
    expect(error.step).toBe('getfd tap0');
    expect(rg.qemu.transcript.slice(1).map((t) => t.replace(/_[0-9a-f]{8}_/, '_*_'))).toEqual([
      'getfd vml_hp0_*_tap0',
      'netdev_add netdev-hp0', // refused: no such fd, nothing built (a single fd)
      'device_add nic-hp0', // refused: no such netdev
      'netdev_del netdev-hp0', // "not found": fine
      'closefd vml_hp0_*_tap0', // "not found": fine
    ]);
    expect(rg.qemu.openFds).toBe(0);
    expect(rg.qemu.netdevs.size).toBe(0);
    expect(rg.qemu.devices.size).toBe(0);
    expect(rg.host.detached).toBe(1);
  });

  it('netdev_add fails -> netdev_del (a no-op) and closefd for every fd sent, host side detached', async () => {
    const rg = await start({
      nic: () => tapNic('x', 2),
      script: (c) => (c.execute === 'netdev_add' ? { error: 'Invalid parameter' } : undefined),
    });
    const error = await failingAttach(rg);
    expect(error.step).toBe('netdev_add');
    expect(rg.qemu.transcript.slice(3)).toEqual([
      'netdev_add netdev-hp0',
      'device_add nic-hp0', // pipelined; refused: no such netdev, so nothing to unplug
      'netdev_del netdev-hp0',
      expect.stringMatching(/^closefd .*tap1$/),
      expect.stringMatching(/^closefd .*tap0$/),
    ]);
    expect(rg.qemu.openFds).toBe(0);
    expect(rg.host.detached).toBe(1);
  });

  it('T8: device_add fails -> netdev_del (which closes the consumed fds), host side detached, the original error surfaces', async () => {
    const rg = await start({
      nic: () => tapNic('x', 2),
      script: (c) =>
        c.execute === 'device_add'
          ? { error: "Bus 'rp0' does not support hotplugging" }
          : undefined,
    });
    const error = await failingAttach(rg);
    expect(error.step).toBe('device_add');
    expect((error.cause as QmpCommandError).desc).toMatch(/does not support hotplugging/);
    expect(error.rollbackErrors).toEqual([]);
    expect(rg.qemu.transcript.slice(3)).toEqual([
      'netdev_add netdev-hp0',
      'device_add nic-hp0',
      'netdev_del netdev-hp0',
    ]);
    expect(rg.qemu.openFds).toBe(0);
    expect(rg.host.detached).toBe(1);
    expect(rg.ctx.registry.list()).toEqual([]);
  });

  it('keeps the first error and attaches what rollback could not undo', async () => {
    const rg = await start({
      script: (c) =>
        c.execute === 'device_add'
          ? { error: 'first' }
          : c.execute === 'netdev_del'
            ? { error: 'second' }
            : undefined,
    });
    const error = await failingAttach(rg);
    expect((error.cause as QmpCommandError).desc).toBe('first');
    expect(error.rollbackErrors.map((e) => e.message)).toEqual([
      expect.stringMatching(/netdev_del netdev-hp0.*second/),
    ]);
    expect(rg.host.detached).toBe(1);
  });

  it('T7: QEMU dies on netdev_add -> interrupted; no closefd or netdev_del on the dead monitor; host side and our fds cleaned', async () => {
    const rg = await start({ script: (c) => (c.execute === 'netdev_add' ? 'die' : undefined) });
    const error = await failingAttach(rg);
    expect(error).toMatchObject({
      step: 'netdev_add',
      interrupted: true,
      code: 'HOTPLUG_INTERRUPTED',
    });
    // device_add was already on its way (pipelined) when QEMU died; nothing came after it.
    expect(rg.qemu.transcript.slice(-2)).toEqual(['netdev_add netdev-hp0', 'device_add nic-hp0']);
    expect(rg.host.detached).toBe(1);
  });

  it('a device_add that succeeded after an earlier step failed is unplugged before the backend goes', async () => {
    const rg = await start({
      // netdev_add is refused, yet device_add finds a (stale) netdev of that id and succeeds.
      script: (c) =>
        c.execute === 'netdev_add'
          ? { error: "Duplicate ID 'netdev-hp0' for netdev" }
          : c.execute === 'device_del'
            ? { events: [['DEVICE_DELETED', { device: 'nic-hp0' }]] }
            : undefined,
    });
    rg.qemu.netdevs.set('netdev-hp0', []);
    const error = await failingAttach(rg);
    expect(error.step).toBe('netdev_add');
    expect(error.rollbackErrors).toEqual([]);
    expect(rg.qemu.transcript.slice(2)).toEqual([
      'netdev_add netdev-hp0',
      'device_add nic-hp0',
      'device_del nic-hp0',
      'netdev_del netdev-hp0',
      expect.stringMatching(/^closefd .*tap0$/),
    ]);
    expect(rg.qemu.openFds).toBe(0);
    expect(rg.host.detached).toBe(1);
  });

  it('a HostNic handed in is closed on failure too (its fds were taken over)', async () => {
    const rg = await start({
      script: (c) => (c.execute === 'device_add' ? { error: 'no' } : undefined),
    });
    await expect(attachNic(rg.ctx, { nic: tapNic('given', 3) })).rejects.toBeInstanceOf(
      HotplugError,
    );
    expect(rg.qemu.openFds).toBe(0);
  });
});
