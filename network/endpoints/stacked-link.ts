// macvlan and ipvlan endpoints (what the CNI macvlan and ipvlan plugins make): the link keeps its
// addresses and MAC, and the tcfilter model joins it to the guest as it does a veth (kata's
// MacvlanEndpoint and IPVlanEndpoint do the same).
import { ValidationError } from '../../core/index.js';
import type { AttachContext, AttachedEndpoint, AttachFn } from './attach-types.js';
import type { EndpointDeps } from './attach-run.js';
import { runAttach } from './attach-run.js';
import { attachTcfilter } from './interworking-tcfilter.js';
import { parseEndpoint } from './parse.js';
import type { IpvlanEndpoint, MacvlanEndpoint } from './types.js';

/** A macvlan or an ipvlan endpoint. */
export type StackedLinkEndpoint = MacvlanEndpoint | IpvlanEndpoint;

// Secondary CNI networks (macvlan, ipvlan) become guest NICs without a veth in between.
/**
 * Attaches a macvlan or ipvlan endpoint in ctx.netns with the tcfilter model.
 * @throws {ValidationError} a malformed endpoint, or a link of another kind than the endpoint's.
 * @throws {StepError} naming the failing step ('read macvlan', 'open tap', ...).
 */
export const attachStackedLink: AttachFn<StackedLinkEndpoint> = (endpoint, ctx) =>
  attachStackedLinkWith(endpoint, ctx, undefined);

// The same, with injectable primitives (tests inject failures through them).
/**
 * attachStackedLink with `deps` replacing native primitives.
 * @throws {ValidationError} | {StepError} as attachStackedLink.
 */
export async function attachStackedLinkWith(
  endpoint: StackedLinkEndpoint,
  ctx: AttachContext,
  deps: Partial<EndpointDeps> | undefined,
): Promise<AttachedEndpoint> {
  const checked = parseEndpoint(endpoint) as StackedLinkEndpoint;
  return runAttach(checked, ctx, deps, async (run) => {
    const link = await run.step(`read ${checked.kind}`, async (nl) => {
      const found = await nl.links.get(checked.name);
      if (found.kind !== checked.kind) {
        throw new ValidationError(
          'endpoint.name',
          checked.name,
          `${checked.name} is a ${found.kind ?? 'plain'} link, not a ${checked.kind}`,
        );
      }
      return found;
    });
    return attachTcfilter(run, checked, link);
  });
}
