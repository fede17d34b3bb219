// T14 / T27: make each attach step fail in turn (an injected netlink failure at call k, an
// AbortSignal aborted after call k, a conflicting name, a link deleted underneath, a failing
// native open) and the netns is exactly as it was before attach, no fd is left open, and the
// error names the step that failed.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { describe, expect, it } from 'vitest';
import * as native from '../../../../native/index.js';
import type { TapHostNic } from '../../../../network/host-nic.js';
import type { EndpointDeps } from '../../../../network/endpoints/attach-run.js';
import { linkName } from '../../../../network/endpoints/names.js';
import type { Interworking, VethEndpoint } from '../../../../network/endpoints/types.js';
import { attachVethWith } from '../../../../network/endpoints/veth.js';
import { openNetlink } from '../../../../network/netlink/index.js';
import { StepError } from '../../../../core/index.js';
import { ip } from '../../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../../helpers/prereq.js';
import { faultyClient, type Fault } from './fault-client.js';
import { leakSnapshot, leaksSince, netnsState, withVethPair } from './veth-fixture.js';

const NIC = 'net0';

/** Every step of each model that makes a netlink call (the others are injected below). */
const NETLINK_STEPS: Record<Interworking, string[]> = {
  tcfilter: [
    'read veth',
    'journal eth0',
    'open tap',
    'set tap alias',
    'set tap mtu',
    'set tap up',
    'add veth ingress qdisc',
    'add tap ingress qdisc',
    'redirect veth to tap',
    'redirect tap to veth',
  ],
  macvtap: [
    'read veth',
    'journal eth0',
    'set veth mac',
    'create macvtap',
    'set macvtap alias',
    'set macvtap up',
    'clear veth addresses',
  ],
  bridged: [
    'read veth',
    'journal eth0',
    'create bridge',
    'set bridge alias',
    'open tap',
    'set tap alias',
    'set tap mtu',
    'set tap up',
    'set veth mac',
    'clear veth addresses',
    'join veth to bridge',
    'join tap to bridge',
    'set bridge up',
  ],
  none: ['read veth', 'open tap', 'set tap alias', 'set tap mtu', 'set tap up'],
};

const MODELS = Object.keys(NETLINK_STEPS) as Interworking[];

// Attaches with `fault`; returns the error (undefined when attach succeeded, then detached).
async function attachWithFault(
  netns: string,
  model: Interworking,
  makeFault: (ctl: AbortController) => Fault,
): Promise<{ error: unknown; calls: number }> {
  const real = openNetlink(netns);
  try {
    const ctl = new AbortController();
    const fault = makeFault(ctl);
    const { client, calls } = faultyClient(real, fault);
    const endpoint: VethEndpoint = { kind: 'veth', name: 'eth0', interworking: model, queues: 2 };
    try {
      const a = await attachVethWith(
        endpoint,
        { netns, nicId: NIC, netlink: client, signal: ctl.signal },
        undefined,
      );
      fault.at = 0; // the fault was for attach: detach runs clean
      native.closeAll((a.hostNic as TapHostNic).tapFds);
      await a.detach();
      return { error: undefined, calls: calls.length };
    } catch (error) {
      return { error, calls: calls.length };
    }
  } finally {
    await real.close();
  }
}

// Runs a failure at every call k in turn until attach gets through, checking each rollback.
async function everyStep(model: Interworking, kind: 'fail' | 'abort'): Promise<Set<string>> {
  const steps = new Set<string>();
  await withVethPair(`flt${model.slice(0, 3)}`, async ({ netns }) => {
    const before = netnsState(netns);
    for (let k = 1; k < 100; k++) {
      const leaks = leakSnapshot(netns);
      const { error } = await attachWithFault(netns, model, (ctl) =>
        kind === 'fail' ? { at: k, kind } : { at: k, kind, ctl },
      );
      expect(netnsState(netns), `after a ${kind} at call ${k}`).toEqual(before);
      expect(leaksSince(leaks, netns), `after a ${kind} at call ${k}`).toEqual([]);
      if (error === undefined) return;
      expect(error).toBeInstanceOf(StepError);
      const e = error as StepError;
      expect(e.rollbackErrors).toEqual([]);
      expect(e.message.startsWith(`${e.step}: `)).toBe(true);
      if (kind === 'fail') expect(e.code).toBe('EIO');
      else expect((e.cause as Error).name).toBe('AbortError');
      steps.add(e.step);
    }
    throw new Error('attach never succeeded');
  });
  return steps;
}

describe.runIf(prerequisite('endpoints', rootNetnsMissing()))('veth attach failures', () => {
  for (const model of MODELS) {
    it(`${model}: a netlink failure at each call rolls back everything and names its step`, async () => {
      const steps = await everyStep(model, 'fail');
      expect([...steps].sort()).toEqual([...NETLINK_STEPS[model]].sort());
    });

    it(`${model}: an abort after each call rolls back everything and names the next step`, async () => {
      const steps = await everyStep(model, 'abort');
      // An abort is noticed by the step after the call's: every step but the first, and the
      // native step that follows the last netlink one.
      const last = model === 'macvtap' ? 'open macvtap queues' : 'open vhost-net';
      expect([...steps].sort()).toEqual([...NETLINK_STEPS[model].slice(1), last].sort());
    });
  }

  it('an aborted signal before attach creates nothing', async () => {
    await withVethPair('fltab', async ({ netns }) => {
      const before = netnsState(netns);
      const ctl = new AbortController();
      ctl.abort();
      const endpoint: VethEndpoint = { kind: 'veth', name: 'eth0', interworking: 'tcfilter' };
      const error = await attachVethWith(
        endpoint,
        { netns, nicId: NIC, signal: ctl.signal },
        undefined,
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StepError);
      expect((error as StepError).step).toBe('read veth');
      expect(netnsState(netns)).toEqual(before);
    });
  });

  it('a link already named like our tap fails at "open tap" with EEXIST and is left alone', async () => {
    await withVethPair('fltex', async ({ netns }) => {
      ip('-n', netns, 'link', 'add', linkName(NIC, 't'), 'type', 'veth', 'peer', 'name', 'other0');
      const before = netnsState(netns);
      const error = await attach(netns, 'tcfilter').catch((e: unknown) => e);
      expect((error as StepError).step).toBe('open tap');
      expect((error as StepError).code).toBe('EEXIST');
      expect(netnsState(netns)).toEqual(before);
    });
  });

  it('a link already named like our macvtap fails at "create macvtap" with EEXIST, the veth MAC restored', async () => {
    await withVethPair('fltmx', async ({ netns }) => {
      ip('-n', netns, 'link', 'add', linkName(NIC, 'm'), 'type', 'veth', 'peer', 'name', 'other0');
      const before = netnsState(netns);
      const error = await attach(netns, 'macvtap').catch((e: unknown) => e);
      expect((error as StepError).step).toBe('create macvtap');
      expect((error as StepError).code).toBe('EEXIST');
      expect(netnsState(netns)).toEqual(before);
    });
  });

  it('a missing veth fails at "read veth" with ENODEV', async () => {
    await withVethPair('fltnv', async ({ netns }) => {
      ip('-n', netns, 'link', 'del', 'eth0');
      const before = netnsState(netns);
      const error = await attach(netns, 'tcfilter').catch((e: unknown) => e);
      expect((error as StepError).step).toBe('read veth');
      expect((error as StepError).code).toBe('ENODEV');
      expect(netnsState(netns)).toEqual(before);
    });
  });

  it('a failing tap open (EMFILE) fails at "open tap"', async () => {
    await withVethPair('fltmf', async ({ netns }) => {
      const before = netnsState(netns);
      const tapOpen = (): never => {
        throw new native.NativeError('tapOpen', { code: 'EMFILE', errno: -24, syscall: 'open' });
      };
      const error = await attach(netns, 'bridged', { tapOpen }).catch((e: unknown) => e);
      expect((error as StepError).step).toBe('open tap');
      expect((error as StepError).code).toBe('EMFILE');
      expect(netnsState(netns)).toEqual(before);
    });
  });

  it('a failing macvtap queue open fails at "open macvtap queues", the veth addresses and MAC restored', async () => {
    await withVethPair('fltmq', async ({ netns }) => {
      const before = netnsState(netns);
      const leaks = leakSnapshot(netns);
      const macvtapOpen = (): never => {
        throw new native.NativeError('macvtapOpen', {
          code: 'EMFILE',
          errno: -24,
          syscall: 'open',
        });
      };
      const error = await attach(netns, 'macvtap', { macvtap: { macvtapOpen } }).catch(
        (e: unknown) => e,
      );
      expect((error as StepError).step).toBe('open macvtap queues');
      expect(netnsState(netns)).toEqual(before);
      expect(leaksSince(leaks, netns)).toEqual([]);
    });
  });

  for (const model of MODELS) {
    it(`${model}: vhostNet 'require' without /dev/vhost-net fails at "open vhost-net" and closes the queue fds`, async () => {
      await withVethPair(`flvh${model.slice(0, 3)}`, async ({ netns }) => {
        const before = netnsState(netns);
        const leaks = leakSnapshot(netns);
        const error = await attach(netns, model, {}, 'require').catch((e: unknown) => e);
        expect((error as StepError).step).toBe('open vhost-net');
        expect((error as StepError).code).toBe('UNSUPPORTED');
        expect((error as StepError).message).toMatch(/vhost-net is absent/);
        expect(netnsState(netns)).toEqual(before);
        expect(leaksSince(leaks, netns)).toEqual([]);
      });
    });
  }

  it("vhostNet 'auto' hands over one vhost fd per queue when they open, and 'off' opens none", async () => {
    await withVethPair('flvho', async ({ netns }) => {
      let opened: number[] = [];
      const vhostNetOpen = (count: number): number[] => {
        opened = Array.from({ length: count }, () => native.socketpair()).flat();
        native.closeAll(opened.filter((_, i) => i % 2 === 1));
        opened = opened.filter((_, i) => i % 2 === 0);
        return opened;
      };
      const ep: VethEndpoint = { kind: 'veth', name: 'eth0', interworking: 'tcfilter', queues: 2 };
      const a = await attachVethWith(ep, { netns, nicId: NIC }, { vhostNetOpen });
      const nic = a.hostNic as TapHostNic;
      expect(nic.vhost).toEqual({ enabled: true });
      expect(nic.vhostFds).toEqual(opened);
      native.closeAll([...nic.tapFds, ...nic.vhostFds]);
      await a.detach();
      const off = await attachVethWith(
        ep,
        { netns, nicId: NIC, vhostNet: 'off' },
        { vhostNetOpen },
      );
      const offNic = off.hostNic as TapHostNic;
      expect(offNic.vhostFds).toEqual([]);
      expect(offNic.vhost.reason).toMatch(/off/);
      native.closeAll(offNic.tapFds);
      await off.detach();
    });
  });
});

// A plain attach of eth0 with `model` and injected primitives.
function attach(
  netns: string,
  model: Interworking,
  deps: Partial<EndpointDeps> = {},
  vhostNet: 'auto' | 'off' | 'require' = 'auto',
): Promise<unknown> {
  const endpoint: VethEndpoint = { kind: 'veth', name: 'eth0', interworking: model, queues: 2 };
  return attachVethWith(endpoint, { netns, nicId: NIC, vhostNet }, deps);
}
