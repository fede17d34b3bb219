// The guest-network flags `run` and `run -- CMD` share: `--scan NETNS` takes every endpoint
// scanNetns finds in a (CNI-made) netns with its addresses, routes and resolver, so the VM takes
// over the netns's identity as a script with scanNetns would; `--dns`, `--dns-search` and
// `--hostname` set the seed's resolver and host name; `--no-seed` leaves the seed out.
import type { ParseArgsConfig } from 'node:util';
import { scanNetns } from '../../network/endpoints/scan.js';
import type { EndpointSpec } from '../launch.js';
import type { GuestNetworkOptions } from '../seed/seed-drive.js';
import { UsageError } from './usage.js';

/** parseArgs option definitions of the guest-network flags. */
export const GUEST_NET_FLAGS = {
  scan: { type: 'string', multiple: true, default: [] as string[] },
  dns: { type: 'string', multiple: true, default: [] as string[] },
  'dns-search': { type: 'string', multiple: true, default: [] as string[] },
  hostname: { type: 'string' },
  'no-seed': { type: 'boolean' },
} satisfies NonNullable<ParseArgsConfig['options']>;

/** The values parseArgs gives for GUEST_NET_FLAGS. */
export interface GuestNetFlagValues {
  scan: string[];
  dns: string[];
  'dns-search': string[];
  hostname?: string | undefined;
  'no-seed'?: boolean | undefined;
}

/** Help lines for the guest-network flags. */
export const GUEST_NET_HELP = [
  '--scan NETNS       every endpoint found in NETNS (veth, macvlan, ...), with the addresses,',
  '                   routes and resolv.conf CNI gave it: the guest gets them by its seed',
  '--dns ADDR         a resolver for the guest (repeatable; replaces what --scan found)',
  '--dns-search DOM   a search domain for the guest (repeatable)',
  '--hostname NAME    the guest host name in its seed',
  '--no-seed          no seed drive: the guest configures its network itself',
];

// The seed options the flags ask for (the scanned resolver is added by withScannedEndpoints).
/**
 * The GuestNetworkOptions of the flags, or undefined when none is given.
 * @throws UsageError when --no-seed is combined with a flag that only a seed carries.
 */
export function guestNetworkFromFlags(
  values: GuestNetFlagValues,
  usage: string,
): GuestNetworkOptions | undefined {
  const dns = values.dns.length > 0 || values['dns-search'].length > 0;
  if (values['no-seed']) {
    if (dns || values.hostname !== undefined)
      throw new UsageError('--no-seed leaves out the seed that --dns/--hostname go in', usage);
    return { seed: false };
  }
  if (!dns && values.hostname === undefined) return undefined;
  return {
    ...(dns ? { dns: { nameservers: values.dns, search: values['dns-search'] } } : {}),
    ...(values.hostname !== undefined ? { hostname: values.hostname } : {}),
  };
}

// `--scan` is resolved when the VM is about to start: it reads the netns as it is then.
/**
 * Adds the endpoints found in each `--scan` netns (before the `--net` ones) and, unless --dns
 * was given, the first scanned netns's resolver to the seed options.
 * @throws UsageError when a scanned netns holds no endpoint; scanNetns's errors.
 */
export async function withScannedEndpoints<
  T extends { endpoints?: EndpointSpec[]; guestNetwork?: GuestNetworkOptions },
>(options: T, scan: readonly string[], usage: string): Promise<T> {
  if (scan.length === 0) return options;
  const found: EndpointSpec[] = [];
  let dns: GuestNetworkOptions['dns'];
  for (const netns of scan) {
    const result = await scanNetns(netns);
    if (result.endpoints.length === 0) {
      const why = result.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
      throw new UsageError(`--scan ${netns}: no endpoint found${why ? ` (${why})` : ''}`, usage);
    }
    found.push(...result.endpoints.map((endpoint) => ({ endpoint, netns })));
    if (dns === undefined && result.dns.nameservers.length > 0)
      dns = { nameservers: result.dns.nameservers, search: result.dns.search };
  }
  const network = options.guestNetwork;
  const keepDns = network?.dns !== undefined || network?.seed === false || dns === undefined;
  return {
    ...options,
    endpoints: [...found, ...(options.endpoints ?? [])],
    ...(keepDns ? {} : { guestNetwork: { ...network, dns } }),
  };
}
