// The tcfilter model (kata's default): a multi-queue tap next to the veth, and tc ingress qdiscs
// on both with u32 match-all mirred redirects veth -> tap and tap -> veth. The veth keeps its
// addresses (the redirect takes every frame before the IP stack sees it) and the guest uses the
// veth's MAC, so the CNI side sees the MAC it expects. macvlan and ipvlan links are joined the
// same way (network/endpoints/stacked-link.ts); 'veth' below is whichever link is borrowed.
import type { TapHostNic } from '../host-nic.js';
import type { Link } from '../netlink/index.js';
import type { AttachRun } from './attach-run.js';
import { unlessGone } from './attach-run.js';
import { journalBorrowedLink } from './borrow-journal.js';
import { createTap, vethTapNic } from './host-tap.js';
import { retryOnBusy } from './retry-busy.js';
import type { TcfilterEndpoint } from './types.js';

/** The filter priority of our redirects on an ingress qdisc we created (tc's first default). */
export const REDIRECT_PREF = 49152;

/** How a tc object on our own tap is undone: by removing the tap, which takes it along. */
const WITH_THE_TAP = { goesWithTheTap: true } as const;

// Adds the ingress qdisc unless the link already has one (someone else's: kept, not deleted).
// On our tap no undo is registered: removing the tap removes it, and deleting it first would
// only wait behind the kernel's teardown of a tap whose fds were just closed (its RCU wait).
async function ensureIngress(
  run: AttachRun,
  step: string,
  index: number,
  options: { goesWithTheTap?: boolean } = {},
): Promise<boolean> {
  return run.step(step, async (nl) => {
    try {
      // One request (a dump to check first would cost two); EBUSY is retried (docs/faults.md T15).
      await retryOnBusy(() => nl.tc.addIngress(index));
    } catch (error) {
      if ((error as { code?: unknown }).code === 'EEXIST') return false;
      throw error;
    }
    if (options.goesWithTheTap === true) return true;
    run.undo(`delete ${step.replace(/^add /, '')}`, (client) =>
      unlessGone(() => client.tc.deleteIngress(index)),
    );
    return true;
  });
}

// Redirects everything arriving on `from` to the egress of `to`, and registers the delete.
async function redirect(
  run: AttachRun,
  step: string,
  from: number,
  to: number,
  ownQdisc: boolean,
  options: { goesWithTheTap?: boolean } = {},
): Promise<void> {
  await run.step(step, async (nl) => {
    // On our own qdisc the priority is known; on a shared one the kernel picks it, so the undo
    // (registered at once, before anything else can fail) finds ours by its target ifindex.
    await nl.tc.addRedirect(from, to, ownQdisc ? { pref: REDIRECT_PREF } : {});
    if (options.goesWithTheTap === true) return;
    run.undo(`delete filter (${step})`, (client) =>
      unlessGone(async () => {
        const pref = ownQdisc
          ? REDIRECT_PREF
          : (await client.tc.listRedirects(from)).find((f) => f.targetIndex === to)?.pref;
        if (pref !== undefined) await client.tc.deleteRedirect(from, { pref });
      }),
    );
  });
}

// The default model: fast, no MAC games, the veth untouched apart from its ingress.
/**
 * Plumbs tcfilter interworking for `veth` (already read) and returns the HostNic.
 * @throws {StepError} naming the failing step ('journal <veth>', 'open tap',
 *   'add veth ingress qdisc',
 *   'redirect veth to tap', 'open vhost-net'...).
 */
export async function attachTcfilter(
  run: AttachRun,
  endpoint: TcfilterEndpoint,
  veth: Link,
): Promise<TapHostNic> {
  const queues = endpoint.queues ?? 1;
  const mtu = endpoint.mtu ?? veth.mtu;
  await journalBorrowedLink(run, veth, { ingress: true }, ['t']);
  const tap = await createTap(run, queues, mtu);
  // Adding an ingress qdisc can raise a txqueuelen of 0 (as CNI leaves veths) to 1000; put it
  // back after the qdisc is gone (this undo runs after the qdisc's, being registered first).
  run.undo('restore veth txqueuelen', (client) =>
    unlessGone(async () => {
      if ((await client.links.get(veth.index)).txqlen !== veth.txqlen) {
        await client.links.setTxqlen(veth.index, veth.txqlen);
      }
    }),
  );
  const vethOwn = await ensureIngress(run, 'add veth ingress qdisc', veth.index);
  const tapOwn = await ensureIngress(run, 'add tap ingress qdisc', tap.index, WITH_THE_TAP);
  await redirect(run, 'redirect veth to tap', veth.index, tap.index, vethOwn);
  await redirect(run, 'redirect tap to veth', tap.index, veth.index, tapOwn, WITH_THE_TAP);
  // The guest's frames leave by the veth's egress (the redirect above): tx limits shape there.
  run.shaped.tx = { index: veth.index, name: veth.name };
  return vethTapNic(run, endpoint, veth, tap, queues, mtu);
}
