// vm.attach's `rate` option: handed to the endpoint attach (which sets the limits as its last
// step), refused for a HostNic the caller attached (vmlaunch holds no link of it to shape).
import { describe, expect, it } from 'vitest';
import { attachNic } from '../../../../launcher/hotplug/attach.js';
import type { AttachContext } from '../../../../network/endpoints/attach-types.js';
import { rigPerTest, TAP, tapNic } from './harness.js';

const start = rigPerTest();
const RATE = { rx: { rate: 125_000 }, tx: { rate: 62_500, burst: 4096 } };

describe('hot-plug with rate limits', () => {
  it('passes the limits to the endpoint attach', async () => {
    const rg = await start();
    const seen: AttachContext[] = [];
    const real = rg.ctx.attachEndpoint.bind(rg.ctx);
    rg.ctx.attachEndpoint = (endpoint, c) => {
      seen.push(c);
      return real(endpoint, c);
    };
    await attachNic(rg.ctx, TAP, { id: 'hp0', rate: RATE });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.rate).toEqual(RATE);
  });

  it('refuses limits for a HostNic the caller attached, before QEMU sees anything', async () => {
    const rg = await start();
    const error = await attachNic(rg.ctx, { nic: tapNic('x') }, { id: 'hp0', rate: RATE }).catch(
      (e: unknown) => e,
    );
    expect(String(error)).toMatch(/rate limits need an endpoint/);
    expect(rg.qemu.fake.received.map((c) => c.execute)).not.toContain('device_add');
    expect(rg.ctx.registry.list()).toEqual([]);
  });
});
