// T15: the kernel answers EBUSY to the ingress qdisc add (as it may while another change on the
// link settles). A netlink client that forwards to a real one in a test netns, except that its
// first `busy` tc.addIngress calls fail with EBUSY, drives the tcfilter attach: a short burst is
// retried (kata: 5 attempts, 10 ms linear) and the result is the same plumbing as a clean attach;
// a burst longer than the retries fails at its step with EBUSY and rolls everything back.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { describe, expect, it } from 'vitest';
import * as native from '../../../../native/index.js';
import { NetlinkError } from '../../../../network/errors.js';
import type { TapHostNic } from '../../../../network/host-nic.js';
import type { VethEndpoint } from '../../../../network/endpoints/types.js';
import { attachVethWith } from '../../../../network/endpoints/veth.js';
import { openNetlink, type NetlinkClient } from '../../../../network/netlink/index.js';
import { StepError } from '../../../../core/index.js';
import { prerequisite, rootNetnsMissing } from '../../../helpers/prereq.js';
import {
  leakSnapshot,
  leaksSince,
  netnsState,
  redirectTargets,
  withVethPair,
} from './veth-fixture.js';

/** netnsState without what differs between two attaches: link ifindexes, the tap's random MAC
 *  and the IPv6 link-local address derived from it. */
const comparable = (netns: string): string[] =>
  netnsState(netns).map((line) =>
    line
      .replace(/^link \d+ /, 'link # ')
      .replace(/^(link # \S+ tun) \S+/, '$1 <mac>')
      .replace(/"local":"fe80::[^"]*"/, '"local":"fe80::<from mac>"'),
  );

const ENDPOINT: VethEndpoint = { kind: 'veth', name: 'eth0', interworking: 'tcfilter' };

/** A real client whose first `busy` ingress qdisc adds fail with EBUSY; counts every add. */
function busyClient(
  real: NetlinkClient,
  busy: number,
): { client: NetlinkClient; adds: () => number } {
  let adds = 0;
  const tc = new Proxy(real.tc, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (prop !== 'addIngress' || typeof value !== 'function') return value;
      return (...args: unknown[]): Promise<unknown> => {
        adds++;
        if (adds <= busy) {
          return Promise.reject(new NetlinkError('tc qdisc add ingress', 16, 'EBUSY'));
        }
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  const client = new Proxy(real, {
    get: (target, prop, receiver): unknown =>
      prop === 'tc' ? tc : Reflect.get(target, prop, receiver),
  });
  return { client, adds: () => adds };
}

describe.runIf(prerequisite('endpoints', rootNetnsMissing()))(
  'tcfilter attach when the ingress qdisc add is busy (T15)',
  () => {
    it('T15: two EBUSY answers are retried and the plumbing equals a clean attach', async () => {
      await withVethPair('busy2', async ({ netns }) => {
        const real = openNetlink(netns);
        try {
          const before = netnsState(netns);
          const leaks = leakSnapshot(netns);
          // The state a clean attach leaves, as the oracle for the retried one.
          const clean = await attachVethWith(ENDPOINT, { netns, nicId: 'net0' }, undefined);
          const cleanState = comparable(netns);
          native.closeAll((clean.hostNic as TapHostNic).tapFds);
          await clean.detach();
          expect(netnsState(netns)).toEqual(before);

          const { client, adds } = busyClient(real, 2);
          const started = Date.now();
          const a = await attachVethWith(
            ENDPOINT,
            { netns, nicId: 'net0', netlink: client },
            undefined,
          );
          const nic = a.hostNic as TapHostNic;
          // Two refusals, then the veth's qdisc, then the tap's: four adds in all.
          expect(adds()).toBe(4);
          expect(Date.now() - started).toBeGreaterThanOrEqual(10 + 20 - 5);
          expect(comparable(netns)).toEqual(cleanState);
          expect(redirectTargets(netns, 'eth0')).toEqual([`mirred:${nic.ifname}`]);
          native.closeAll(nic.tapFds);
          await a.detach();
          expect(netnsState(netns)).toEqual(before);
          expect(leaksSince(leaks, netns)).toEqual([]);
        } finally {
          await real.close();
        }
      });
    });

    it('T15: EBUSY beyond the five attempts fails at "add veth ingress qdisc" and rolls back', async () => {
      await withVethPair('busy5', async ({ netns }) => {
        const real = openNetlink(netns);
        try {
          const before = netnsState(netns);
          const leaks = leakSnapshot(netns);
          const { client, adds } = busyClient(real, 5);
          const error = await attachVethWith(
            ENDPOINT,
            { netns, nicId: 'net0', netlink: client },
            undefined,
          ).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(StepError);
          expect(error).toMatchObject({
            step: 'add veth ingress qdisc',
            code: 'EBUSY',
            rollbackErrors: [],
          });
          expect(adds()).toBe(5);
          expect(netnsState(netns)).toEqual(before);
          expect(leaksSince(leaks, netns)).toEqual([]);
        } finally {
          await real.close();
        }
      });
    });
  },
);
