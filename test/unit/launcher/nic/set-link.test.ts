// Live link control's lookup and its one QMP call: cold- and hot-plugged NICs resolve to the
// device id QEMU knows, anything else is NIC_UNKNOWN, and a VFIO NIC is refused before QMP.
import { describe, expect, it } from 'vitest';
import { UndoStack } from '../../../../core/index.js';
import { nicDevices } from '../../../../launcher/devices/nic-devices.js';
import { HotplugStateError } from '../../../../launcher/hotplug/errors.js';
import { HotplugRegistry } from '../../../../launcher/hotplug/registry.js';
import { findNic } from '../../../../launcher/nic/find-nic.js';
import { setNicLink } from '../../../../launcher/nic/set-link.js';
import type { HostNic } from '../../../../network/host-nic.js';

const tap: HostNic = {
  kind: 'tap',
  id: 'net0',
  mac: '52:54:00:00:00:01',
  mtu: 1500,
  tapFds: [10],
  vhostFds: [],
  vhost: { enabled: false, reason: 'off' },
  ifname: 'vmtap0',
  netns: '/run/netns/x',
};
const vfio: HostNic = { kind: 'vfio', id: 'pt0', pciAddress: '0000:01:00.0' };
const ctx = {
  transport: 'pci' as const,
  sharedMemory: false,
  fdRef: (_fd: number, role: string) => ({ kind: 'named' as const, name: role }),
};
const devices = [...nicDevices(tap, ctx), ...nicDevices(vfio, ctx)];

function registryWith(state: 'attached' | 'pending' = 'attached'): HotplugRegistry {
  const registry = new HotplugRegistry(['rp0', 'rp1'], new Set(['net0', 'pt0']));
  registry.add({
    nic: { id: 'hp0', mac: '52:54:00:00:00:02', bus: 'rp0', timings: { host: 0, qmp: 0 } },
    deviceId: 'nic-hp0',
    state,
    cleanup: new UndoStack(),
  });
  registry.add({
    nic: {
      kind: 'drive',
      id: 'd0',
      serial: 's',
      bus: 'rp1',
      spec: { path: '/d0' },
      timings: { host: 0, qmp: 0 },
    },
    deviceId: 'drive-d0',
    state: 'attached',
    cleanup: new UndoStack(),
  });
  return registry;
}

function recorder() {
  const calls: Array<[string, unknown]> = [];
  return {
    calls,
    execute: (name: string, args?: unknown) => {
      calls.push([name, args]);
      return Promise.resolve(undefined as never);
    },
  };
}

describe('findNic', () => {
  it('finds a cold-plugged NIC with its host side, and a hot-plugged one', () => {
    const cold = findNic('net0', devices, [tap], registryWith());
    expect(cold).toMatchObject({ plug: 'cold', backend: 'virtio-net', deviceId: 'nic-net0' });
    expect(cold.hostNic).toBe(tap);
    const hot = findNic('hp0', devices, [tap], registryWith());
    expect(hot).toMatchObject({ plug: 'hot', backend: 'virtio-net', deviceId: 'nic-hp0' });
    expect(findNic('pt0', devices, [], registryWith()).backend).toBe('vfio');
  });

  it('an unknown id, a drive or a NIC being unplugged is NIC_UNKNOWN, listing the NICs', () => {
    for (const [id, registry] of [
      ['nope', registryWith()],
      ['d0', registryWith()],
      ['hp0', registryWith('pending')],
    ] as const) {
      let error: unknown;
      try {
        findNic(id, devices, [tap], registry);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(HotplugStateError);
      expect(error).toMatchObject({ code: 'NIC_UNKNOWN' });
      expect((error as Error).message).toContain('net0, pt0');
    }
  });
});

describe('setNicLink', () => {
  it('sends set_link on the guest-facing device, down then up', async () => {
    const qmp = recorder();
    const nic = findNic('hp0', devices, [], registryWith());
    await setNicLink(qmp, nic, false);
    await setNicLink(qmp, nic, true);
    expect(qmp.calls).toEqual([
      ['set_link', { name: 'nic-hp0', up: false }],
      ['set_link', { name: 'nic-hp0', up: true }],
    ]);
  });

  it('refuses a VFIO NIC without calling QEMU', async () => {
    const qmp = recorder();
    const nic = findNic('pt0', devices, [], registryWith());
    await expect(setNicLink(qmp, nic, false)).rejects.toMatchObject({
      code: 'NIC_NO_LINK_CONTROL',
    });
    expect(qmp.calls).toEqual([]);
  });
});
