// A veth endpoint (typically made by CNI inside the netns): read the veth, then join it to the
// guest with its interworking model, switched exhaustively so a new model cannot be forgotten.
import type { HostNic } from '../host-nic.js';
import type { Link } from '../netlink/index.js';
import { parseEndpoint } from './parse.js';
import type { AttachFn, AttachedEndpoint } from './attach-types.js';
import type { AttachRun, EndpointDeps } from './attach-run.js';
import { runAttach } from './attach-run.js';
import { attachBridged } from './interworking-bridged.js';
import { attachMacvtapModel } from './interworking-macvtap.js';
import { attachNone } from './interworking-none.js';
import { attachTcfilter } from './interworking-tcfilter.js';
import type { VethEndpoint } from './types.js';

// Dispatches on the model; `never` makes a missing case a compile error.
function plumb(run: AttachRun, endpoint: VethEndpoint, veth: Link): Promise<HostNic> {
  const model = endpoint.interworking;
  switch (model) {
    case 'tcfilter':
      return attachTcfilter(run, endpoint, veth);
    case 'macvtap':
      return attachMacvtapModel(run, endpoint, veth);
    case 'bridged':
      return attachBridged(run, endpoint, veth);
    case 'none':
      return attachNone(run, endpoint, veth);
    default: {
      const unknown: never = model;
      throw new Error(`unknown interworking model ${String(unknown)}`);
    }
  }
}

// A CNI-prepared veth becomes a guest NIC; detach gives the netns back exactly as it was.
/**
 * Attaches a veth endpoint in ctx.netns with its interworking model.
 * @throws {ValidationError} a malformed endpoint or a netns that does not exist (no syscall).
 * @throws {StepError} naming the failing step ('read veth', 'open tap', ...); everything done
 *   before it is undone.
 */
export const attachVeth: AttachFn<VethEndpoint> = (endpoint, ctx) =>
  attachVethWith(endpoint, ctx, undefined);

// The same, with injectable primitives (tests inject failures through them).
/**
 * attachVeth with `deps` replacing native primitives.
 * @throws {ValidationError} | {StepError} as attachVeth.
 */
export async function attachVethWith(
  endpoint: VethEndpoint,
  ctx: Parameters<AttachFn<VethEndpoint>>[1],
  deps: Partial<EndpointDeps> | undefined,
): Promise<AttachedEndpoint> {
  const checked = parseEndpoint(endpoint) as VethEndpoint;
  return runAttach(checked, ctx, deps, async (run) => {
    const veth = await run.step('read veth', (nl) => nl.links.get(checked.name));
    return plumb(run, checked, veth);
  });
}
