// A macvtap endpoint: an existing macvtap link in the netns (made by CNI or by hand). Its queue
// fds come from its own char device, found by dev_t, never by guessing /dev/tap<ifindex>; the
// guest uses the macvtap's MAC (a macvtap in bridge mode delivers only frames for it).
import { ValidationError } from '../../core/index.js';
import type { TapHostNic } from '../host-nic.js';
import { openMacvtapQueues } from '../macvtap-device.js';
import type { AttachContext, AttachedEndpoint, AttachFn } from './attach-types.js';
import type { AttachRun, EndpointDeps } from './attach-run.js';
import { runAttach, unlessGone } from './attach-run.js';
import { borrowMtuAndUp } from './borrowed-link.js';
import { parseEndpoint } from './parse.js';
import type { MacvtapEndpoint } from './types.js';
import { tapHostNic, vhostStep } from './vhost-net.js';

// Changes only what the endpoint asks for (MAC, MTU, up), each with its inverse.
async function plumb(run: AttachRun, endpoint: MacvtapEndpoint): Promise<TapHostNic> {
  const queues = endpoint.queues ?? 1;
  const link = await run.step('read macvtap', async (nl) => {
    const found = await nl.links.get(endpoint.name);
    if (found.kind !== 'macvtap') {
      throw new ValidationError(
        'endpoint.name',
        endpoint.name,
        `${endpoint.name} is a ${found.kind ?? 'plain'} link, not a macvtap`,
      );
    }
    return found;
  });
  const oldMac = link.mac;
  const mac = endpoint.mac ?? oldMac!;
  if (oldMac !== undefined && mac !== oldMac) {
    await run.step('set macvtap mac', async (nl) => {
      await nl.links.setMac(link.index, mac);
      run.undo('restore macvtap mac', (c) => unlessGone(() => c.links.setMac(link.index, oldMac)));
    });
  }
  const mtu = endpoint.mtu ?? link.mtu;
  await borrowMtuAndUp(run, 'macvtap', link, mtu);
  // The guest's frames leave by the macvtap's egress: tx limits shape it (removed at detach).
  run.shaped.tx = { index: link.index, name: link.name };
  const opened = await run.step('open macvtap queues', () =>
    openMacvtapQueues(link.name, link.index, queues, true, run.deps.macvtap),
  );
  run.ownFds('close macvtap fds', opened.fds);
  const vhost = await vhostStep(run, queues);
  return tapHostNic(run, { mac, mtu, ifname: link.name, tapFds: opened.fds, vhost });
}

// Existing macvtaps (the CNI macvtap plugin's) become guest NICs without being recreated.
/**
 * Attaches an existing macvtap in ctx.netns.
 * @throws {ValidationError} a malformed endpoint, or a link that is not a macvtap.
 * @throws {StepError} naming the failing step ('read macvtap', 'open macvtap queues', ...).
 */
export const attachMacvtap: AttachFn<MacvtapEndpoint> = (endpoint, ctx) =>
  attachMacvtapWith(endpoint, ctx, undefined);

// The same, with injectable primitives.
/**
 * attachMacvtap with `deps` replacing native primitives.
 * @throws {ValidationError} | {StepError} as attachMacvtap.
 */
export async function attachMacvtapWith(
  endpoint: MacvtapEndpoint,
  ctx: AttachContext,
  deps: Partial<EndpointDeps> | undefined,
): Promise<AttachedEndpoint> {
  const checked = parseEndpoint(endpoint) as MacvtapEndpoint;
  return runAttach(checked, ctx, deps, (run) => plumb(run, checked));
}
