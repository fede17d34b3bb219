// One entry point for every endpoint kind: validate, then dispatch exhaustively on `kind` to the
// kind's attach (veth with its interworking model, macvlan/ipvlan by tcfilter, tap, macvtap,
// vhost-user, physical/VFIO).
import type { AttachContext, AttachedEndpoint } from './attach-types.js';
import { attachMacvtap } from './macvtap.js';
import { parseEndpoint } from './parse.js';
import { attachPhysical } from './physical.js';
import { attachStackedLink } from './stacked-link.js';
import { attachTap } from './tap.js';
import type { Endpoint } from './types.js';
import { attachVeth } from './veth.js';
import { validateNicId } from './names.js';
import { attachVhostUser } from './vhost-user.js';

// Callers hold an Endpoint of any kind; this is the one call that prepares its host side.
/**
 * Attaches `endpoint` in ctx.netns and returns the HostNic with its detach.
 * @throws {ValidationError} a malformed endpoint or nicId (before any syscall).
 * @throws {StepError} naming the step that failed; the netns is as it was before.
 * @throws {UnsupportedError} for a kind this host cannot serve (e.g. VFIO without vfio-pci).
 */
export async function attachEndpoint(
  endpoint: Endpoint,
  ctx: AttachContext,
): Promise<AttachedEndpoint> {
  validateNicId(ctx.nicId);
  const checked = parseEndpoint(endpoint);
  switch (checked.kind) {
    case 'veth':
      return attachVeth(checked, ctx);
    case 'macvlan':
    case 'ipvlan':
      return attachStackedLink(checked, ctx);
    case 'tap':
      return attachTap(checked, ctx);
    case 'macvtap':
      return attachMacvtap(checked, ctx);
    case 'vhost-user':
      return attachVhostUser(checked, ctx);
    case 'physical':
      return attachPhysical(checked, ctx);
    default: {
      const unknown: never = checked;
      throw new Error(`unknown endpoint kind ${JSON.stringify(unknown)}`);
    }
  }
}
