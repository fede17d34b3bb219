import { describe, expect, it } from 'vitest';
import { buildCommand } from '../../../../launcher/command.js';
import type { DriveConfig } from '../../../../launcher/devices/blockdev-drive.js';
import { HotplugRegistry } from '../../../../launcher/hotplug/registry.js';
import type { HotplugContext } from '../../../../launcher/hotplug/context.js';
import {
  adoptRestoredDrives,
  adoptRestoredNics,
  restoredDrives,
} from '../../../../launcher/snapshot/restored-hotplug.js';
import type { AttachedEndpoint } from '../../../../network/endpoints/attach-types.js';
import { TEST_VM } from './fake-subject.js';

describe('adoptRestoredNics', () => {
  it('registers a restored NIC on its root port; its cleanup detaches the host side and frees the port', async () => {
    const registry = new HotplugRegistry(['rp0'], new Set(['net0', 'hp0']));
    let detached = 0;
    const endpoint = {
      endpoint: { kind: 'veth', name: 'eth1' },
      hostNic: { id: 'hp0', kind: 'tap', mac: '52:54:00:00:00:02' },
      detach: () => {
        detached++;
        return Promise.resolve();
      },
    } as unknown as AttachedEndpoint;
    const ctx = { registry } as unknown as HotplugContext;
    adoptRestoredNics(ctx, { hp0: 'rp1' }, [endpoint], []);
    const record = registry.get('hp0')!;
    expect(record).toMatchObject({
      deviceId: 'nic-hp0',
      state: 'attached',
      nic: { id: 'hp0', bus: 'rp1', mac: '52:54:00:00:00:02' },
    });
    expect(registry.occupancy.get('rp1')).toBe('hp0');
    expect(await registry.finish(record)).toEqual([]);
    expect(detached).toBe(1);
    expect(registry.get('hp0')).toBeUndefined();
    // Both ports are offered to hot plug now.
    expect(registry.reserveSlot('a', 'q35')).toBe('rp0');
    expect(registry.reserveSlot('b', 'q35')).toBe('rp1');
  });
});

describe('adoptRestoredDrives', () => {
  const configs: DriveConfig[] = [
    { id: 'eph', fd: 5, format: 'qcow2', serial: 'eph', backing: { fd: 6, format: 'raw' } },
    { id: 'hd0', fd: 7, format: 'raw', serial: 'hd0' },
  ];

  it("finds a restored drive's fdsets by the command line's numbering", () => {
    const specs = [
      { path: '/e.img', id: 'eph', ephemeral: true },
      { path: '/h.img', id: 'hd0', serial: 'hd0' },
    ];
    expect(restoredDrives({ hd0: 'rp1' }, specs, configs)).toEqual([
      { spec: specs[1], bus: 'rp1', fdsets: [2] },
    ]);
  });

  it('registers a restored drive on its root port; its cleanup removes its nodes and fdset and frees the port', async () => {
    const command = buildCommand({
      ...TEST_VM,
      drives: configs,
      driveBuses: { hd0: 'rp1' },
    });
    const registry = new HotplugRegistry(command.hotplugBuses, new Set(['eph', 'hd0']));
    const sent: Array<[string, unknown]> = [];
    const qmp = {
      state: 'ready',
      execute: (name: string, args: unknown) => {
        sent.push([name, args]);
        return Promise.resolve({});
      },
    };
    const ctx = { registry, qmp, running: () => true } as unknown as HotplugContext;
    const spec = { path: '/h.img', id: 'hd0', serial: 'hd0' };
    adoptRestoredDrives(ctx, [{ spec, bus: 'rp1', fdsets: [2] }], command.devices);
    const record = registry.get('hd0')!;
    expect(record).toMatchObject({
      deviceId: 'hd0',
      state: 'attached',
      nic: { kind: 'drive', id: 'hd0', serial: 'hd0', bus: 'rp1', spec },
    });
    expect(registry.occupancy.get('rp1')).toBe('hd0');
    expect(await registry.finish(record)).toEqual([]);
    expect(sent).toEqual([
      ['blockdev-del', { 'node-name': 'hd0-fmt' }],
      ['blockdev-del', { 'node-name': 'hd0-file' }],
      ['remove-fd', { 'fdset-id': 2 }],
    ]);
    expect(registry.get('hd0')).toBeUndefined();
    // The port is offered to hot plug now.
    expect([...registry.occupancy]).toContainEqual(['rp1', undefined]);
  });
});
