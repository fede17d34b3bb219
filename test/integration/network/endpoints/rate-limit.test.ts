// NIC rate limits through our netlink client, checked with `tc -json` (iproute2 as the oracle):
// the root tbf itself (set, changed, read back, deleted), then per endpoint model: the limits
// set at attach sit where the guest's traffic leaves (the tap for guest receive, the veth for
// guest transmit), change and go live, and detach gives the netns back exactly as it was.
import { describe, expect, it } from 'vitest';
import * as native from '../../../../native/index.js';
import type { TapHostNic } from '../../../../network/host-nic.js';
import { attachEndpoint } from '../../../../network/endpoints/attach.js';
import { linkName } from '../../../../network/endpoints/names.js';
import { RATE_QDISC_HANDLE } from '../../../../network/endpoints/rate-limit.js';
import type { Endpoint } from '../../../../network/endpoints/types.js';
import { openNetlink } from '../../../../network/netlink/index.js';
import { ip, netnsConfig, tcJson, withTestNetns } from '../../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../../helpers/prereq.js';
import { attachVethWith } from '../../../../network/endpoints/veth.js';
import { StepError } from '../../../../core/index.js';
import { faultyClient, type Fault } from './fault-client.js';
import { netnsState, withVethPair } from './veth-fixture.js';

interface TcTbf {
  kind: string;
  handle: string;
  root?: boolean;
  options?: { rate?: number; burst?: string; limit?: number };
}

// The root qdisc of `dev` as tc shows it.
function root(ns: string, dev: string): TcTbf | undefined {
  return tcJson<TcTbf[]>('-n', ns, '-d', 'qdisc', 'show', 'dev', dev, 'root').find((q) => q.root);
}

// A tbf's rate (bytes/s, as tc -json gives it) and burst (tc -d's text, e.g. "16Kb/1": bucket
// size / rate-table cell).
function tbf(ns: string, dev: string): { rate?: number; burst?: string } | undefined {
  const q = root(ns, dev);
  if (q?.kind !== 'tbf') return undefined;
  expect(q.handle).toBe('766d:');
  return { rate: q.options?.rate, burst: q.options?.burst };
}

const TAP = linkName('net0', 't');

// The netns's tc objects (an existing tap's carrier and routes follow its fds a moment later).
function tcState(ns: string): unknown {
  const { qdiscs, filters } = netnsConfig(ns) as { qdiscs: unknown; filters: unknown };
  return { qdiscs, filters };
}

describe.runIf(prerequisite('netlink', rootNetnsMissing()))('NIC rate limits', () => {
  it('sets, changes, reads back and deletes a root tbf like tc', async () => {
    await withTestNetns('rate-tbf', async (ns) => {
      await using c = openNetlink(ns);
      await c.links.addVeth({ name: 'vml-a', peer: { name: 'vml-b' } });
      const defaultRoot = root(ns, 'vml-a');
      await c.tc.setRootTbf('vml-a', RATE_QDISC_HANDLE, {
        rate: 100_000,
        burst: 16_384,
        limit: 116_384,
      });
      expect(tbf(ns, 'vml-a')).toEqual({ rate: 100_000, burst: '16Kb/1' });
      const [theirs] = tcJson<{ options: { limit?: number } }[]>(
        '-n',
        ns,
        'qdisc',
        'show',
        'dev',
        'vml-a',
        'root',
      );
      expect(theirs).toBeDefined();
      const ours = await c.tc.root('vml-a');
      expect(ours).toMatchObject({
        kind: 'tbf',
        handle: RATE_QDISC_HANDLE,
        tbf: { rate: 100_000, burst: 16_384, limit: 116_384 },
      });
      // A replace changes the one there (same handle), as `tc qdisc replace` does.
      await c.tc.setRootTbf('vml-a', RATE_QDISC_HANDLE, {
        rate: 125_000,
        burst: 20_000,
        limit: 50_000,
      });
      expect(tbf(ns, 'vml-a')).toEqual({ rate: 125_000, burst: '20000b/1' });
      expect((await c.tc.root('vml-a'))?.tbf).toEqual({
        rate: 125_000,
        burst: 20_000,
        limit: 50_000,
      });
      await c.tc.deleteRoot('vml-a');
      expect(root(ns, 'vml-a')).toEqual(defaultRoot);
      await expect(c.tc.deleteRoot('vml-a')).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(
        c.tc.setRootTbf('vml-a', 0x766d0001, { rate: 1, burst: 1, limit: 1 }),
      ).rejects.toMatchObject({ code: 'VALIDATION' });
    });
  });

  for (const interworking of ['tcfilter', 'bridged'] as const) {
    it(`${interworking}: limits set at attach shape the tap (rx) and the veth (tx), change live, and go at detach`, async () => {
      await withVethPair(`rate-${interworking.slice(0, 3)}`, async ({ netns }) => {
        const before = netnsConfig(netns);
        const attached = await attachEndpoint(
          { kind: 'veth', name: 'eth0', interworking },
          {
            netns,
            nicId: 'net0',
            rate: { rx: { rate: 1_250_000 }, tx: { rate: 625_000, burst: 32_768 } },
          },
        );
        const nic = attached.hostNic as TapHostNic;
        try {
          expect(tbf(netns, TAP)).toEqual({ rate: 1_250_000, burst: '125000b/1' });
          expect(tbf(netns, 'eth0')).toEqual({ rate: 625_000, burst: '32Kb/1' });
          expect(typeof attached.setRate).toBe('function');
          // Live: rx off, tx changed.
          expect(await attached.setRate!({ rx: null, tx: { rate: 100_000 } })).toEqual({
            tx: { rate: 100_000, burst: 16_384 },
          });
          expect(tbf(netns, TAP)).toBeUndefined();
          expect(tbf(netns, 'eth0')).toEqual({ rate: 100_000, burst: '16Kb/1' });
          // Absent keeps; a bad change changes nothing.
          await expect(attached.setRate!({ rx: { rate: 0 } })).rejects.toMatchObject({
            code: 'VALIDATION',
          });
          expect(await attached.setRate!({ rx: { rate: 200_000 } })).toEqual({
            rx: { rate: 200_000, burst: 20_000 },
            tx: { rate: 100_000, burst: 16_384 },
          });
          expect(tbf(netns, TAP)).toEqual({ rate: 200_000, burst: '20000b/1' });
        } finally {
          native.closeAll([...nic.tapFds, ...nic.vhostFds]);
          await attached.detach();
        }
        expect(netnsConfig(netns)).toEqual(before);
        await expect(attached.setRate!({ tx: null })).rejects.toThrow(/detached/);
      });
    });
  }

  it('detach removes limits added live only, with the NIC still held', async () => {
    await withVethPair('rate-live', async ({ netns }) => {
      const before = netnsConfig(netns);
      const attached = await attachEndpoint(
        { kind: 'veth', name: 'eth0', interworking: 'tcfilter' },
        { netns, nicId: 'net0' },
      );
      const nic = attached.hostNic as TapHostNic;
      try {
        expect(tbf(netns, 'eth0')).toBeUndefined();
        await attached.setRate!({ tx: { rate: 50_000 } });
        expect(tbf(netns, 'eth0')).toEqual({ rate: 50_000, burst: '16Kb/1' });
      } finally {
        native.closeAll([...nic.tapFds, ...nic.vhostFds]);
        await attached.detach();
      }
      expect(netnsConfig(netns)).toEqual(before);
    });
  });

  it('an existing tap: rx only; detach deletes our tbf and leaves the tap; tx is refused', async () => {
    await withTestNetns('rate-tap', async (ns) => {
      ip('-n', ns, 'tuntap', 'add', 'dev', 'vmltap0', 'mode', 'tap');
      // Up once: the kernel's default root qdisc (pfifo_fast) is there from then on.
      ip('-n', ns, 'link', 'set', 'vmltap0', 'addrgenmode', 'none', 'up');
      const before = tcState(ns);
      const endpoint: Endpoint = { kind: 'tap', name: 'vmltap0' };
      await expect(
        attachEndpoint(endpoint, { netns: ns, nicId: 'net0', rate: { tx: { rate: 10_000 } } }),
      ).rejects.toMatchObject({ step: 'set rate limits' });
      expect(tcState(ns)).toEqual(before);
      const attached = await attachEndpoint(endpoint, {
        netns: ns,
        nicId: 'net0',
        rate: { rx: { rate: 10_000 } },
      });
      try {
        expect(tbf(ns, 'vmltap0')).toEqual({ rate: 10_000, burst: '16Kb/1' });
        await expect(attached.setRate!({ tx: { rate: 10_000 } })).rejects.toThrow(/guest transmit/);
      } finally {
        native.closeAll((attached.hostNic as TapHostNic).tapFds);
        await attached.detach();
      }
      expect(tcState(ns)).toEqual(before);
    });
  });

  it('macvtap model: tx shapes our macvtap, rx is refused; detach leaves the netns as it was', async () => {
    await withVethPair('rate-mvt', async ({ netns }) => {
      const before = tcState(netns);
      const endpoint: Endpoint = { kind: 'veth', name: 'eth0', interworking: 'macvtap' };
      await expect(
        attachEndpoint(endpoint, { netns, nicId: 'net0', rate: { rx: { rate: 10_000 } } }),
      ).rejects.toMatchObject({ step: 'set rate limits' });
      expect(tcState(netns)).toEqual(before);
      const attached = await attachEndpoint(endpoint, {
        netns,
        nicId: 'net0',
        rate: { tx: { rate: 10_000 } },
      });
      try {
        expect(tbf(netns, linkName('net0', 'm'))).toEqual({ rate: 10_000, burst: '16Kb/1' });
        expect(tbf(netns, 'eth0')).toBeUndefined();
        await attached.setRate!({ tx: { rate: 20_000 } });
        expect(tbf(netns, linkName('net0', 'm'))).toEqual({ rate: 20_000, burst: '16Kb/1' });
      } finally {
        native.closeAll((attached.hostNic as TapHostNic).tapFds);
        await attached.detach();
      }
      expect(tcState(netns)).toEqual(before);
    });
  });

  it('an existing macvtap: tx shapes it, and detach deletes our tbf', async () => {
    await withTestNetns('rate-emvt', async (ns) => {
      ip('-n', ns, 'link', 'add', 'low0', 'type', 'veth', 'peer', 'name', 'low1');
      ip('-n', ns, 'link', 'add', 'link', 'low0', 'name', 'vmlmvt0', 'type', 'macvtap');
      for (const l of ['low0', 'low1', 'vmlmvt0']) ip('-n', ns, 'link', 'set', l, 'up');
      const before = tcState(ns);
      const attached = await attachEndpoint(
        { kind: 'macvtap', name: 'vmlmvt0' },
        { netns: ns, nicId: 'net0', rate: { tx: { rate: 30_000, burst: 4096 } } },
      );
      try {
        expect(tbf(ns, 'vmlmvt0')).toEqual({ rate: 30_000, burst: '4Kb/1' });
      } finally {
        native.closeAll((attached.hostNic as TapHostNic).tapFds);
        await attached.detach();
      }
      expect(tcState(ns)).toEqual(before);
    });
  });

  it('T14 with limits: a netlink failure at each call of a rate-limited attach rolls back everything', async () => {
    await withVethPair('rate-flt', async ({ netns }) => {
      const before = netnsState(netns);
      const steps = new Set<string>();
      for (let k = 1; k < 100; k++) {
        const real = openNetlink(netns);
        const fault: Fault = { at: k, kind: 'fail' };
        const { client } = faultyClient(real, fault);
        let error: unknown;
        try {
          const a = await attachVethWith(
            { kind: 'veth', name: 'eth0', interworking: 'tcfilter' },
            {
              netns,
              nicId: 'net0',
              netlink: client,
              rate: { rx: { rate: 100_000 }, tx: { rate: 50_000 } },
            },
            undefined,
          );
          fault.at = 0;
          native.closeAll((a.hostNic as TapHostNic).tapFds);
          await a.detach();
        } catch (e) {
          error = e;
        } finally {
          await real.close();
        }
        expect(netnsState(netns), `after a failure at call ${k}`).toEqual(before);
        if (error === undefined) {
          // The limits' own steps were among those that failed, each undone.
          expect([...steps]).toEqual(
            expect.arrayContaining(['set guest receive limit', 'set guest transmit limit']),
          );
          return;
        }
        expect(error).toBeInstanceOf(StepError);
        expect((error as StepError).rollbackErrors).toEqual([]);
        steps.add((error as StepError).step);
      }
      throw new Error('attach never succeeded');
    });
  });

  it('a multi-queue tap: our tbf replaces its mq root, and removing it brings mq back', async () => {
    await withVethPair('rate-mq', async ({ netns }) => {
      const attached = await attachEndpoint(
        { kind: 'veth', name: 'eth0', interworking: 'tcfilter', queues: 2 },
        { netns, nicId: 'net0' },
      );
      const nic = attached.hostNic as TapHostNic;
      try {
        const before = root(netns, TAP);
        expect(before?.kind).toBe('mq');
        await attached.setRate!({ rx: { rate: 500_000 } });
        expect(tbf(netns, TAP)).toEqual({ rate: 500_000, burst: '50000b/1' });
        await attached.setRate!({ rx: null });
        expect(root(netns, TAP)).toEqual(before);
      } finally {
        native.closeAll([...nic.tapFds, ...nic.vhostFds]);
        await attached.detach();
      }
    });
  });
});
