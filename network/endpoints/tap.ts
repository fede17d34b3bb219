// A tap endpoint: an existing tap in the netns (its queues opened, anything we change put back
// on detach), or, with `create: true`, a tap vmlaunch makes and removes. An existing tap is
// checked first (docs/faults.md T16): TUNSETIFF refuses a multi-queue open of a single-queue
// tap (and the reverse) with a bare EINVAL, so the mismatch is reported before, naming the tap
// and the fix.
import { ValidationError } from '../../core/index.js';
import type { AttachFn, AttachContext, AttachedEndpoint } from './attach-types.js';
import type { AttachRun, EndpointDeps } from './attach-run.js';
import { runAttach } from './attach-run.js';
import { borrowMtuAndUp } from './borrowed-link.js';
import { createTap } from './host-tap.js';
import { randomLocalMac } from './names.js';
import { parseEndpoint } from './parse.js';
import type { TunLink } from './tun-info.js';
import { readTunLink } from './tun-info.js';
import type { TapEndpoint } from './types.js';
import { tapHostNic, vhostStep } from './vhost-net.js';
import type { TapHostNic } from '../host-nic.js';

// Refuses what TUNSETIFF would refuse cryptically, or what would hijack someone's queues.
function preflight(link: TunLink, queues: number, path: string): void {
  if (link.tun === undefined || !link.tun.tap) {
    const what = link.tun === undefined ? `a ${link.kind ?? 'non-tun'} link` : 'a tun (layer 3)';
    throw new ValidationError(`${path}.name`, link.name, `${link.name} is ${what}, not a tap`);
  }
  if (link.tun.attachedQueues > 0) {
    throw new ValidationError(
      `${path}.name`,
      link.name,
      `tap ${link.name} is in use (${link.tun.attachedQueues} queue(s) open by another process); ` +
        'attaching would share its traffic',
      'IN_USE',
    );
  }
  if (queues > 1 && !link.tun.multiQueue) {
    throw new ValidationError(
      `${path}.queues`,
      queues,
      `tap ${link.name} was created without multi_queue, so it takes only 1 queue; ` +
        `recreate it with multi_queue (ip tuntap add ... multi_queue) or use queues: 1`,
      'QUEUES',
    );
  }
  if (queues === 1 && link.tun.multiQueue) {
    throw new ValidationError(
      `${path}.queues`,
      queues,
      `tap ${link.name} is multi_queue; open it with queues >= 2 (a single-queue open is EINVAL)`,
      'QUEUES',
    );
  }
}

// Opens an existing tap's queues; changes only what must change, each with its inverse.
async function attachExisting(run: AttachRun, endpoint: TapEndpoint): Promise<TapHostNic> {
  const queues = endpoint.queues ?? 1;
  const link = await run.step('read tap', async (nl) => {
    const found = await readTunLink(nl, endpoint.name);
    preflight(found, queues, 'endpoint');
    return found;
  });
  const opened = await run.step('open tap', () =>
    run.deps.tapOpen(run.netnsFile, endpoint.name, { queues, vnetHdr: true }),
  );
  run.ownFds('close tap fds', opened.fds);
  // Someone else's tap: a rate limit on its egress (guest receive) is removed at detach.
  run.shaped.rx = { index: link.index, name: link.name };
  const mtu = endpoint.mtu ?? link.mtu;
  await borrowMtuAndUp(run, 'tap', link, mtu);
  const vhost = await vhostStep(run, queues);
  const mac = endpoint.mac ?? randomLocalMac();
  return tapHostNic(run, { mac, mtu, ifname: link.name, tapFds: opened.fds, vhost });
}

// A tap of our own, under the caller's name.
async function attachCreated(run: AttachRun, endpoint: TapEndpoint): Promise<TapHostNic> {
  const queues = endpoint.queues ?? 1;
  const tap = await createTap(run, queues, endpoint.mtu, endpoint.name);
  const mtu = endpoint.mtu ?? (await run.step('read tap', (nl) => nl.links.get(tap.index))).mtu;
  const vhost = await vhostStep(run, queues);
  const mac = endpoint.mac ?? randomLocalMac();
  return tapHostNic(run, { mac, mtu, ifname: tap.name, tapFds: tap.fds, vhost });
}

// Taps made by others (or by us on request) become guest NICs the same way.
/**
 * Attaches a tap endpoint in ctx.netns (opens an existing one, or creates it with `create`).
 * @throws {ValidationError} a malformed endpoint; a queue count the existing tap cannot take.
 * @throws {StepError} naming the failing step ('read tap', 'open tap', ...).
 */
export const attachTap: AttachFn<TapEndpoint> = (endpoint, ctx) =>
  attachTapWith(endpoint, ctx, undefined);

// The same, with injectable primitives.
/**
 * attachTap with `deps` replacing native primitives.
 * @throws {ValidationError} | {StepError} as attachTap.
 */
export async function attachTapWith(
  endpoint: TapEndpoint,
  ctx: AttachContext,
  deps: Partial<EndpointDeps> | undefined,
): Promise<AttachedEndpoint> {
  const checked = parseEndpoint(endpoint) as TapEndpoint;
  return runAttach(checked, ctx, deps, (run) =>
    checked.create === true ? attachCreated(run, checked) : attachExisting(run, checked),
  );
}
