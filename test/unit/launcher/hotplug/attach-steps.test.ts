// vm.attach() as named steps against a scripted QEMU: the order the steps run in, the rollback
// of what they made in reverse, and an abort (or the deadline) noticed as a step ends, named
// after that step with nothing after it started.
import { describe, expect, it } from 'vitest';
import { TimeoutError } from '../../../../core/index.js';
import { attachNic } from '../../../../launcher/hotplug/attach.js';
import type { HotplugGuest } from '../../../../launcher/hotplug/context.js';
import type { HotplugError } from '../../../../launcher/hotplug/errors.js';
import { rigPerTest, TAP, type Rig, type RigOptions } from './harness.js';

const start = rigPerTest();

// A rig whose guest, host side and QEMU log what they are asked, in one list.
async function logged(
  log: string[],
  options: RigOptions & { onHost?: () => void; ready?: () => Promise<void> } = {},
): Promise<Rig> {
  const guest: HotplugGuest = {
    async waitReady() {
      log.push('wait-guest-ready');
      await options.ready?.();
    },
    exec() {
      log.push('guest poll');
      return Promise.resolve({ output: 'eth1 1500\n', status: 0 });
    },
  };
  const script = options.script;
  const rg = await start({
    ...options,
    guest,
    script: (c, n) => {
      if (c.execute !== 'qmp_capabilities') log.push(c.execute);
      return script?.(c, n);
    },
  });
  const inner = rg.ctx.attachEndpoint.bind(rg.ctx);
  rg.ctx.attachEndpoint = async (endpoint, c) => {
    const attached = await inner(endpoint, c);
    log.push('host-attach');
    options.onHost?.();
    return {
      ...attached,
      detach: () => (log.push('detach host side'), attached.detach()),
    };
  };
  return rg;
}

const failure = (p: Promise<unknown>): Promise<HotplugError> =>
  p.then(
    () => {
      throw new Error('attach succeeded');
    },
    (e: unknown) => e as HotplugError,
  );

describe('attach as named steps', () => {
  it('runs wait-guest-ready, host-attach, the pipelined plug, then guest-sees-nic', async () => {
    const log: string[] = [];
    const rg = await logged(log);
    const nic = await attachNic(rg.ctx, TAP, { id: 'hp0' });
    expect(nic).toMatchObject({ id: 'hp0', bus: 'rp0', guestIfname: 'eth1' });
    expect(log).toEqual([
      'wait-guest-ready',
      'host-attach',
      'getfd',
      'netdev_add',
      'device_add',
      'guest poll',
    ]);
  });

  it('a refused device_add undoes the rest in reverse: the backend, then the host side, then the port', async () => {
    const log: string[] = [];
    const rg = await logged(log, {
      script: (c) => (c.execute === 'device_add' ? { error: 'Bus rp0 is full' } : undefined),
    });
    const error = await failure(attachNic(rg.ctx, TAP, { id: 'hp0' }));
    expect(error).toMatchObject({ step: 'device_add', code: 'HOTPLUG_FAILED', rollbackErrors: [] });
    // netdev_add took the fd, so no closefd is owed.
    expect(log.slice(2)).toEqual([
      'getfd',
      'netdev_add',
      'device_add',
      'netdev_del',
      'detach host side',
    ]);
    expect(rg.ctx.registry.list()).toEqual([]);
    // The id and the port were given back: the same attach now works.
    rg.qemu.script = () => undefined;
    await expect(attachNic(rg.ctx, TAP, { id: 'hp0' })).resolves.toMatchObject({ bus: 'rp0' });
  });

  it('an abort during host-attach is named after it: the host side is undone, QEMU is asked nothing', async () => {
    const log: string[] = [];
    const ctl = new AbortController();
    const rg = await logged(log, { onHost: () => ctl.abort(new Error('stop')) });
    const error = await failure(attachNic(rg.ctx, TAP, { id: 'hp0', signal: ctl.signal }));
    expect(error).toMatchObject({ step: 'host-attach', code: 'ABORTED', aborted: true });
    expect(error.rollbackErrors).toEqual([]);
    expect(log).toEqual(['wait-guest-ready', 'host-attach', 'detach host side']);
    expect(rg.qemu.transcript).toEqual(['qmp_capabilities']);
    expect(rg.ctx.registry.list()).toEqual([]);
  });

  it('a deadline that runs out during a step is a TimeoutError at that step, not an abort', async () => {
    const log: string[] = [];
    const rg = await logged(log, { ready: () => new Promise((r) => setTimeout(r, 80)) });
    const error = await failure(attachNic(rg.ctx, TAP, { id: 'hp0', timeout: 20 }));
    expect(error).toMatchObject({
      step: 'wait-guest-ready',
      code: 'HOTPLUG_FAILED',
      aborted: false,
    });
    expect(error.cause).toBeInstanceOf(TimeoutError);
    expect(log).toEqual(['wait-guest-ready']);
  });
});
