import { describe, expect, it } from 'vitest';
import { HotplugRegistry } from '../../../../launcher/hotplug/registry.js';
import type { HotplugContext } from '../../../../launcher/hotplug/context.js';
import { adoptRestoredNics } from '../../../../launcher/snapshot/restored-hotplug.js';
import type { AttachedEndpoint } from '../../../../network/endpoints/attach-types.js';

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
