import { describe, expect, it } from 'vitest';
import {
  createControlHandler,
  describeForWire,
  type ControlledVm,
} from '../../../../launcher/cli/control-handlers.js';
import type { DetachResult, HotplugSource } from '../../../../launcher/hotplug/types.js';
import { VmlaunchError } from '../../../../core/index.js';

// A VM double that records what the control channel asked of it.
function fakeVm(detachResult: () => DetachResult): ControlledVm & { calls: unknown[] } {
  const calls: unknown[] = [];
  return {
    calls,
    pid: 4242,
    accel: { accel: 'tcg' },
    endpoints: [],
    guest: {
      exec: (command) => {
        calls.push(['exec', command]);
        const inner = command.replace(/^sh -c /, '').replace(/^'(.*)'$/, '$1');
        return Promise.resolve({ output: `ran ${inner}\n`, status: inner === 'false' ? 1 : 0 });
      },
    },
    attach: (source: HotplugSource, options) => {
      calls.push(['attach', source, options]);
      return Promise.resolve({
        id: options?.id ?? 'hp0',
        mac: '52:54:00:12:34:56',
        bus: 'rp0',
        timings: { host: 3, qmp: 7, guest: 90 },
      });
    },
    detach: (id, options) => {
      calls.push(['detach', id, options]);
      return Promise.resolve(detachResult());
    },
    setLink: (id, up) => {
      calls.push(['setLink', id, up]);
      return Promise.resolve();
    },
    snapshot: (path, options) => {
      calls.push(['snapshot', path, options]);
      return Promise.resolve({
        path,
        manifestPath: `${path}.json`,
        bytes: 1234,
        saveMs: 56,
        manifest: {} as never,
      });
    },
    shutdown: () => {
      calls.push(['shutdown']);
      return Promise.resolve();
    },
    setRate: (id, change) => {
      calls.push(['setRate', id, change]);
      return Promise.resolve(change.tx ? { tx: { burst: 16384, ...change.tx } } : {});
    },
    nicStats: (id) => {
      calls.push(['nicStats', id]);
      return Promise.resolve({
        id,
        rxFilter: { 'main-mac': '52:54:00:12:34:56' },
        ...(id === 'vu0'
          ? {}
          : {
              host: {
                ifname: 'vm0',
                rxBytes: 1,
                rxPackets: 2,
                rxDropped: 0,
                rxErrors: 0,
                txBytes: 3,
                txPackets: 4,
                txDropped: 0,
                txErrors: 0,
              },
            }),
      });
    },
  };
}

describe('the nic control handler', () => {
  it('sets the link before reading the counters, and announces the change', async () => {
    const vm = fakeVm(() => ({ status: 'removed', id: 'x', ms: 1 }));
    const lines: string[] = [];
    const handle = createControlHandler('t1', vm, (l) => lines.push(l));
    const reply = await handle({ id: 1, op: 'nic', nicId: 'net0', link: 'down', stats: true });
    expect(vm.calls).toEqual([
      ['setLink', 'net0', false],
      ['nicStats', 'net0'],
    ]);
    expect(reply).toMatchObject({ nicId: 'net0', link: 'down', stats: { host: { rxBytes: 1 } } });
    expect(lines).toEqual(['net0: link down']);
  });

  it('link only: no counters read; stats without a host link: rx-filter only', async () => {
    const vm = fakeVm(() => ({ status: 'removed', id: 'x', ms: 1 }));
    const handle = createControlHandler('t1', vm);
    expect(await handle({ id: 1, op: 'nic', nicId: 'net0', link: 'up' })).toEqual({
      nicId: 'net0',
      link: 'up',
    });
    expect(await handle({ id: 2, op: 'nic', nicId: 'vu0', stats: true })).toEqual({
      nicId: 'vu0',
      stats: { rxFilter: { 'main-mac': '52:54:00:12:34:56' } },
    });
    expect(vm.calls).toEqual([
      ['setLink', 'net0', true],
      ['nicStats', 'vu0'],
    ]);
  });
});

describe('the nic control handler: rate', () => {
  it('sets the rate after the link and before the counters; replies with the limits in force', async () => {
    const vm = fakeVm(() => ({ status: 'removed', id: 'x', ms: 1 }));
    const lines: string[] = [];
    const handle = createControlHandler('t1', vm, (l) => lines.push(l));
    const reply = await handle({
      id: 1,
      op: 'nic',
      nicId: 'net0',
      link: 'up',
      rate: { rx: null, tx: { rate: 1000 } },
      stats: true,
    });
    expect(vm.calls).toEqual([
      ['setLink', 'net0', true],
      ['setRate', 'net0', { rx: null, tx: { rate: 1000 } }],
      ['nicStats', 'net0'],
    ]);
    expect(reply).toMatchObject({ nicId: 'net0', rate: { tx: { rate: 1000, burst: 16384 } } });
    expect(lines).toEqual(['net0: link up', 'net0: rate {"tx":{"burst":16384,"rate":1000}}']);
  });

  it("attach passes the spec's rate options to the hot-plug", async () => {
    const vm = fakeVm(() => ({ status: 'removed', id: 'x', ms: 1 }));
    const handle = createControlHandler('t1', vm);
    await handle({ id: 1, op: 'attach', spec: 'veth:eth1@ns1,tx-rate=8mbit' });
    expect(vm.calls[0]).toEqual([
      'attach',
      { endpoint: { kind: 'veth', name: 'eth1', interworking: 'tcfilter' }, netns: 'ns1' },
      { rate: { tx: { rate: 1_000_000 } } },
    ]);
  });
});

describe('the snapshot control handler', () => {
  it('passes path, then and the deadline to vm.snapshot and replies with the files', async () => {
    const vm = fakeVm(() => ({ status: 'removed', id: 'x', ms: 1 }));
    const lines: string[] = [];
    const handle = createControlHandler('t1', vm, (l) => lines.push(l));
    const reply = await handle({
      id: 1,
      op: 'snapshot',
      path: '/tmp/a.state',
      then: 'pause',
      timeout: 9000,
    });
    expect(vm.calls).toEqual([['snapshot', '/tmp/a.state', { then: 'pause', timeoutMs: 9000 }]]);
    expect(reply).toEqual({
      path: '/tmp/a.state',
      manifestPath: '/tmp/a.state.json',
      bytes: 1234,
      saveMs: 56,
    });
    expect(lines).toEqual(['saved a snapshot to /tmp/a.state (1234 bytes in 56 ms)']);
  });

  it('then=shutdown: saves paused and shuts down once the reply is out', async () => {
    const vm = fakeVm(() => ({ status: 'removed', id: 'x', ms: 1 }));
    const handle = createControlHandler('t1', vm);
    await handle({ id: 1, op: 'snapshot', path: '/tmp/b.state', then: 'shutdown' });
    expect(vm.calls).toEqual([['snapshot', '/tmp/b.state', { then: 'pause' }]]);
    await new Promise((r) => setImmediate(r));
    expect(vm.calls.at(-1)).toEqual(['shutdown']);
  });
});

describe('control handlers of vmlaunch run', () => {
  it('attach parses the spec into an endpoint + netns and reports the NIC; status lists it', async () => {
    const vm = fakeVm(() => ({ status: 'removed', id: 'hp5', ms: 120 }));
    const lines: string[] = [];
    const handle = createControlHandler('t1', vm, (l) => lines.push(l));
    const reply = await handle({
      id: 1,
      op: 'attach',
      spec: 'veth:eth1@vml-x:macvtap',
      nicId: 'hp5',
      timeout: 5000,
    });
    expect(reply).toMatchObject({
      nicId: 'hp5',
      mac: '52:54:00:12:34:56',
      bus: 'rp0',
      timings: { qmp: 7 },
    });
    const [op, source, options] = vm.calls[0] as [string, HotplugSource, unknown];
    expect(op).toBe('attach');
    expect(source).toMatchObject({
      endpoint: { kind: 'veth', name: 'eth1', interworking: 'macvtap' },
      netns: 'vml-x',
    });
    expect(options).toEqual({ id: 'hp5', timeout: 5000 });
    const status = (await handle({ id: 2, op: 'status' })) as { nics: unknown[]; qemuPid: number };
    expect(status.qemuPid).toBe(4242);
    expect(status.nics).toEqual([
      {
        nicId: 'hp5',
        origin: 'hotplug',
        kind: 'veth',
        mac: '52:54:00:12:34:56',
        bus: 'rp0',
        state: 'attached',
      },
    ]);
    expect(await handle({ id: 3, op: 'detach', nicId: 'hp5' })).toEqual({
      status: 'removed',
      nicId: 'hp5',
      ms: 120,
    });
    expect(((await handle({ id: 4, op: 'status' })) as { nics: unknown[] }).nics).toEqual([]);
    expect(lines.join('\n')).toMatch(/attached hp5[\s\S]*detached hp5/);
  });

  it('a pending detach is reported with its explanation and completes later', async () => {
    let finish = (): void => undefined;
    const completion = new Promise<void>((r) => (finish = r));
    const vm = fakeVm(() => ({
      status: 'pending',
      id: 'hp0',
      ms: 10_000,
      explanation: 'the guest has not released it',
      completion,
    }));
    const lines: string[] = [];
    const handle = createControlHandler('t2', vm, (l) => lines.push(l));
    await handle({ id: 1, op: 'attach', spec: 'tap:tap9' });
    expect(await handle({ id: 2, op: 'detach', nicId: 'hp0', timeout: 100 })).toEqual({
      status: 'pending',
      nicId: 'hp0',
      ms: 10_000,
      explanation: 'the guest has not released it',
    });
    expect(
      ((await handle({ id: 3, op: 'status' })) as { nics: Array<{ state: string }> }).nics[0]
        ?.state,
    ).toBe('unplugging');
    finish();
    await completion;
    await new Promise((r) => setImmediate(r));
    expect(((await handle({ id: 4, op: 'status' })) as { nics: unknown[] }).nics).toEqual([]);
    expect(lines.at(-1)).toContain('removal completed');
  });

  it('exec returns output and status; a bad spec fails before the VM is asked', async () => {
    const vm = fakeVm(() => ({ status: 'removed', id: 'x', ms: 1 }));
    const handle = createControlHandler('t3', vm);
    expect(await handle({ id: 1, op: 'exec', command: 'false' })).toEqual({
      output: 'ran false\n',
      status: 1,
    });
    // The user's command runs in its own sh, so its `exit` cannot end the console shell.
    await handle({ id: 9, op: 'exec', command: "exit 7; echo 'x'" });
    expect(vm.calls.at(-1)).toEqual(['exec', String.raw`sh -c 'exit 7; echo '\''x'\'''`]);
    vm.calls.length = 0;
    const error = await handle({ id: 2, op: 'attach', spec: 'veth:eth1' }).catch((e: unknown) => e);
    const wire = describeForWire(error);
    expect(wire.name).toBe('ValidationError');
    expect(wire.explanation).toMatch(/^Invalid input: .*needs its netns/);
    expect(vm.calls).toEqual([]);
  });

  it('describes failures with their code and the CLI sentences', () => {
    expect(describeForWire(new VmlaunchError('boom', 'HOTPLUG_FAILED'))).toEqual({
      code: 'HOTPLUG_FAILED',
      name: 'VmlaunchError',
      message: 'boom',
      explanation: 'boom',
    });
    expect(describeForWire('weird')).toMatchObject({
      code: 'ERROR',
      explanation: 'Unexpected error: weird',
    });
  });
});
