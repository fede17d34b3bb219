// Deleting a link "until unlisted": the promise resolves once the link has left its netns
// (RTM_DELLINK), before the kernel's RCU wait ends; checked with `ip -json` as the oracle.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { closeDetached, detachedInFlight, tapOpen } from '../../../../native/index.js';
import { NetlinkError } from '../../../../network/errors.js';
import { backgroundRemovals, openNetlink } from '../../../../network/netlink/index.js';
import { ip, ipJson, withTestNetns } from '../../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../../helpers/prereq.js';

const names = (ns: string): string[] =>
  ipJson<Array<{ ifname: string }>>('-n', ns, 'link', 'show').map((l) => l.ifname);
const fdCount = (): number => readdirSync('/proc/self/fd').length;

describe.runIf(prerequisite('link removal', rootNetnsMissing()))(
  'deleting a link until it is unlisted',
  () => {
    it('resolves with the veth and its peer gone from both netns, and its name free at once', () =>
      withTestNetns('rm', (ns) =>
        withTestNetns('rmpeer', async (peerNs) => {
          const fds = fdCount();
          const c = openNetlink(ns);
          try {
            const link = await c.links.addVeth({
              name: 'vml-a',
              peer: { name: 'vml-b', netns: peerNs },
            });
            await c.links.setUp(link.index);
            const open = fdCount();
            await c.links.delete(link.index, { until: 'unlisted' });
            // The thread finishing the kernel's wait holds its socket in an fd table of its own.
            expect(fdCount()).toBe(open);
            expect(names(ns)).not.toContain('vml-a');
            expect(names(peerNs)).not.toContain('vml-b');
            const again = await c.links.addVeth({
              name: 'vml-a',
              peer: { name: 'vml-b', netns: peerNs },
            });
            expect(names(ns)).toContain('vml-a');
            await c.links.delete(again.index, { until: 'unlisted' });
            expect(names(ns)).not.toContain('vml-a');
          } finally {
            await c.close();
          }
          await backgroundRemovals();
          expect(detachedInFlight()).toBe(0);
          expect(fdCount()).toBe(fds);
        }),
      ));

    it('resolves sooner than waiting for the kernel ACK, which carries the RCU wait', () =>
      withTestNetns('rmfast', async (ns) => {
        const c = openNetlink(ns);
        try {
          const unlisted: number[] = [];
          const acked: number[] = [];
          for (let i = 0; i < 5; i++) {
            for (const [until, into] of [
              ['unlisted', unlisted],
              ['ack', acked],
            ] as const) {
              const link = await c.links.addVeth({
                name: `vml-f${i}`,
                peer: { name: `vml-g${i}` },
              });
              const t = performance.now();
              await c.links.delete(link.index, { until });
              into.push(performance.now() - t);
            }
          }
          const median = (v: number[]) => [...v].sort((a, b) => a - b)[2]!;
          // Not a timing assertion on this machine's speed: the two are compared in one run, and
          // the ACK carries an RCU wait the unlisting does not.
          expect(median(unlisted)).toBeLessThan(median(acked));
        } finally {
          await c.close();
          await backgroundRemovals();
        }
      }));

    it('rejects with the kernel error when the link does not exist, leaving nothing open', () =>
      withTestNetns('rmgone', async (ns) => {
        const fds = fdCount();
        const c = openNetlink(ns);
        try {
          const link = await c.links.addVeth({ name: 'vml-x', peer: { name: 'vml-y' } });
          ip('-n', ns, 'link', 'del', 'vml-x');
          const error = await c.links
            .delete(link.index, { until: 'unlisted' })
            .catch((e: unknown) => e);
          expect(error).toBeInstanceOf(NetlinkError);
          expect(error).toMatchObject({ errnoName: 'ENODEV', operation: `link del ${link.index}` });
        } finally {
          await c.close();
        }
        await backgroundRemovals();
        expect(fdCount()).toBe(fds);
      }));

    it('closes tap fds on a thread of its own: our fd table is clean at once, the tap goes soon after', () =>
      withTestNetns('rmtap', async (ns) => {
        const fds = fdCount();
        const tap = tapOpen(`/run/netns/${ns}`, 'vml-t0', { queues: 2 });
        expect(names(ns)).toContain('vml-t0');
        closeDetached(tap.fds);
        expect(fdCount()).toBe(fds);
        await backgroundRemovals();
        expect(names(ns)).not.toContain('vml-t0');
      }));
  },
);
