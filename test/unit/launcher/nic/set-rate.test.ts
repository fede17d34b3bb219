// Live rate control's dispatch: the change goes to the host side vmlaunch attached; a NIC
// without one (VFIO, vhost-user, a HostNic the caller attached) is NIC_NO_RATE_CONTROL.
import { describe, expect, it } from 'vitest';
import type { FoundNic } from '../../../../launcher/nic/find-nic.js';
import { setNicRate } from '../../../../launcher/nic/set-rate.js';
import type { AttachedEndpoint } from '../../../../network/endpoints/attach-types.js';
import type { NicRateChange } from '../../../../network/endpoints/rate-limit.js';

const found: FoundNic = { id: 'net0', plug: 'cold', backend: 'virtio-net', deviceId: 'nic-net0' };

function attached(withRate: boolean, seen: NicRateChange[] = []): AttachedEndpoint {
  return {
    endpoint: { kind: 'vhost-user', socketPath: '/run/x.sock', mode: 'client' },
    hostNic: {
      kind: 'vhost-user',
      id: 'net0',
      mac: '52:54:00:00:00:01',
      queues: 1,
      socketPath: '/run/x.sock',
      mode: 'client',
    },
    detach: () => Promise.resolve(),
    ...(withRate
      ? {
          setRate: (change: NicRateChange) => {
            seen.push(change);
            return Promise.resolve({ tx: { rate: 1000, burst: 16_384 } });
          },
        }
      : {}),
  };
}

describe('setNicRate', () => {
  it('hands the change to the attached host side and returns what it reports', async () => {
    const seen: NicRateChange[] = [];
    expect(await setNicRate(found, attached(true, seen), { tx: { rate: 1000 } })).toEqual({
      tx: { rate: 1000, burst: 16_384 },
    });
    expect(seen).toEqual([{ tx: { rate: 1000 } }]);
  });

  it('refuses a NIC without host-side rate control, saying why', async () => {
    await expect(setNicRate(found, undefined, { tx: null })).rejects.toMatchObject({
      code: 'NIC_NO_RATE_CONTROL',
      message: expect.stringContaining('the caller attached') as unknown,
    });
    await expect(setNicRate(found, attached(false), { tx: null })).rejects.toMatchObject({
      code: 'NIC_NO_RATE_CONTROL',
      message: expect.stringContaining('backed by vhost-user') as unknown,
    });
    await expect(
      setNicRate({ ...found, backend: 'vfio' }, undefined, { tx: null }),
    ).rejects.toMatchObject({ message: expect.stringContaining('VFIO') as unknown });
  });
});
