// T14 with the real kernel's own error: the veth is deleted underneath a tcfilter attach, right
// before its ingress qdisc is added (as a CNI DEL racing us would). The kernel answers ENODEV,
// the error names 'add veth ingress qdisc', and rollback removes the tap made so far without
// tripping over the vanished veth: the netns is as before minus the veth, no fd is left open.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { describe, expect, it } from 'vitest';
import type { VethEndpoint } from '../../../../network/endpoints/types.js';
import { attachVethWith } from '../../../../network/endpoints/veth.js';
import { openNetlink, type NetlinkClient } from '../../../../network/netlink/index.js';
import { StepError } from '../../../../core/index.js';
import { ip } from '../../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../../helpers/prereq.js';
import { leakSnapshot, leaksSince, netnsState, withVethPair } from './veth-fixture.js';

/** A real client that runs `before` once, ahead of its first tc.addIngress. */
function clientWithHook(real: NetlinkClient, before: () => void): NetlinkClient {
  let done = false;
  const tc = new Proxy(real.tc, {
    get(target, prop, receiver): unknown {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (prop !== 'addIngress' || typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        if (!done) {
          done = true;
          before();
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return new Proxy(real, {
    get: (target, prop, receiver): unknown =>
      prop === 'tc' ? tc : Reflect.get(target, prop, receiver),
  });
}

describe.runIf(prerequisite('endpoints', rootNetnsMissing()))(
  'a veth deleted in the middle of an attach (T14)',
  () => {
    it('T14: the kernel says ENODEV at "add veth ingress qdisc" and rollback removes the tap', async () => {
      await withVethPair('vanish', async ({ netns }) => {
        const real = openNetlink(netns);
        try {
          // The netns as it will be once the veth is gone, then a fresh veth to attach.
          ip('-n', netns, 'link', 'del', 'eth0');
          const withoutVeth = netnsState(netns);
          ip('-n', netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'tmp0');
          const leaks = leakSnapshot(netns);
          const endpoint: VethEndpoint = { kind: 'veth', name: 'eth0', interworking: 'tcfilter' };
          const client = clientWithHook(real, () => ip('-n', netns, 'link', 'del', 'eth0'));
          const error = await attachVethWith(
            endpoint,
            { netns, nicId: 'net0', netlink: client },
            undefined,
          ).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(StepError);
          expect(error).toMatchObject({
            step: 'add veth ingress qdisc',
            code: 'ENODEV',
            rollbackErrors: [],
          });
          expect(netnsState(netns)).toEqual(withoutVeth);
          // Only what the test itself deleted is missing; no fd, link or tc object is left.
          expect(leaksSince(leaks, netns)).toEqual([
            `links in ${netns}: - eth0 veth`,
            `links in ${netns}: - tmp0 veth`,
          ]);
        } finally {
          await real.close();
        }
      });
    });
  },
);
