// The order a guest adds routes in: the kernel refuses a route through a gateway it cannot
// reach on the link, so on-link routes (no gateway) go first, then routes whose gateway lies
// in one of the NIC's prefixes or behind an on-link route, and last the rest, marked onLink
// (the kernel then takes the gateway as directly reachable). Order is otherwise kept.
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { EndpointRoute } from '../../network/endpoints/types.js';

/** A route placed for the guest: `onLink` when nothing before it makes its gateway reachable. */
export interface OrderedRoute extends EndpointRoute {
  onLink?: boolean;
}

type Family = 'ipv4' | 'ipv6';

// 'a.b.c.d/n', 'default' or a bare address -> [network, prefix, family]; undefined if not IP.
function prefixOf(cidr: string, gatewayHint?: string): [string, number, Family] | undefined {
  if (cidr === 'default') {
    return gatewayHint !== undefined && isIPv6(gatewayHint)
      ? ['::', 0, 'ipv6']
      : ['0.0.0.0', 0, 'ipv4'];
  }
  const [address, bits] = cidr.split('/') as [string, string | undefined];
  const family: Family | undefined = isIPv4(address)
    ? 'ipv4'
    : isIPv6(address)
      ? 'ipv6'
      : undefined;
  if (family === undefined) return undefined;
  const max = family === 'ipv4' ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return undefined;
  return [address, prefix, family];
}

// Adds a prefix to the set of what is reachable on the link (ignores what is not an IP prefix).
function addReachable(list: BlockList, cidr: string, gatewayHint?: string): void {
  const p = prefixOf(cidr, gatewayHint);
  if (p === undefined) return;
  // BlockList masks the host bits itself (10.0.0.2/24 covers 10.0.0.0-255).
  list.addSubnet(p[0], p[1], p[2]);
}

// Whether `gateway` is reachable on the link given what is known so far.
function reachable(list: BlockList, gateway: string): boolean {
  const family: Family | undefined = isIPv4(gateway)
    ? 'ipv4'
    : isIPv6(gateway)
      ? 'ipv6'
      : undefined;
  return family !== undefined && list.check(gateway, family);
}

// Pure: the same input gives the same order; no route is dropped or added.
/**
 * Orders `routes` of one NIC with `addresses` (CIDR) so each route can be added after the ones
 * before it: on-link routes first, then routes via a reachable gateway, then the others with
 * `onLink: true`.
 */
export function orderRoutes(
  addresses: readonly string[],
  routes: readonly EndpointRoute[],
): OrderedRoute[] {
  const link = new BlockList();
  for (const a of addresses) addReachable(link, a);
  const onLink = routes.filter((r) => r.gateway === undefined);
  for (const r of onLink) addReachable(link, r.dst);
  const via = routes.filter((r) => r.gateway !== undefined);
  const ready = via.filter((r) => reachable(link, r.gateway!));
  const rest = via.filter((r) => !reachable(link, r.gateway!));
  return [
    ...onLink.map((r) => ({ ...r })),
    ...ready.map((r) => ({ ...r })),
    ...rest.map((r) => ({ ...r, onLink: true })),
  ];
}
