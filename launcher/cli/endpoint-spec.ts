// The CLI's short endpoint specs: `tap:NAME[@NETNS]`, `veth:NAME@NETNS[:MODEL]`,
// `macvlan:NAME@NETNS`, `ipvlan:NAME@NETNS`, `macvtap:NAME[@NETNS]`, `vhost-user:PATH[:client|server]`, `vfio:PCI`, each optionally
// followed by `,mac=..,mtu=..,queues=..`, the guest's addresses `,ip=CIDR` (repeatable) and
// `,gw=ADDR` (its default route), and rate limits `,rx-rate=..,tx-rate=..` (rate-spec.ts); a
// comma in a path or netns is written twice (',,'), as QEMU reads it. They become the same
// typed endpoints a script uses.
import { ValidationError } from '../../core/index.js';
import { parseEndpoint } from '../../network/endpoints/parse.js';
import type { EndpointSpec } from '../launch.js';
import { splitQemuList } from './qemu-list.js';
import { rateFromSpecOptions } from './rate-spec.js';

/** The spec grammar, for help texts. */
export const ENDPOINT_SPEC_HELP = [
  'tap:NAME[@NETNS]                 a tap (created when missing)',
  'veth:NAME@NETNS[:MODEL]          a veth; MODEL tcfilter (default), macvtap, bridged or none',
  "macvlan:NAME@NETNS               a macvlan (the CNI macvlan plugin's), by tcfilter",
  "ipvlan:NAME@NETNS                an ipvlan (the CNI ipvlan plugin's), by tcfilter",
  'macvtap:NAME[@NETNS]             an existing macvtap link',
  'vhost-user:PATH[:client|server]  a vhost-user socket (default client)',
  'vfio:PCI                         a PCI NIC passed through (0000:01:00.0)',
  'options: append ,mac=52:54:00:..,mtu=1500,queues=2',
  "the guest's address (veth, macvlan, ipvlan): ,ip=10.1.0.2/24[,ip=...][,gw=10.1.0.1]",
  'rate limits (tap-backed NICs): ,rx-rate=10mbit,tx-rate=5mbit[,rx-burst=32k,tx-burst=32k]',
  'a comma in PATH or NETNS is written twice (",,")',
];

const RATE_KEYS = ['rx-rate', 'tx-rate', 'rx-burst', 'tx-burst'];

// Splits `,key=value` options off a spec (QEMU's list syntax: ',,' is a comma in the head):
// the endpoint's own (mac, mtu, queues; ip and gw as addresses and routes) and the rate
// options, kept apart.
function splitOptions(
  spec: string,
  path: string,
): [string, Record<string, unknown>, Map<string, string>] {
  const [head, ...rest] = splitQemuList(spec);
  const options: Record<string, unknown> = {};
  const addresses: string[] = [];
  const rates = new Map<string, string>();
  for (const item of rest) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? undefined : item.slice(eq + 1);
    if (value !== undefined && RATE_KEYS.includes(key)) {
      rates.set(key, value);
      continue;
    }
    if (value !== undefined && key === 'ip') {
      addresses.push(value);
      continue;
    }
    if (!key || value === undefined || !['mac', 'mtu', 'queues', 'gw'].includes(key)) {
      throw new ValidationError(
        path,
        spec,
        `unknown option "${item}"; expected mac=, mtu=, queues=, ip=, gw=, rx-rate=, tx-rate=, rx-burst= or tx-burst=`,
        'SPEC',
      );
    }
    if (key === 'gw') options.routes = [{ dst: 'default', gateway: value }];
    else options[key] = key === 'mac' ? value : Number(value);
  }
  if (addresses.length > 0) options.addresses = addresses;
  if (options.routes !== undefined && addresses.length === 0)
    throw new ValidationError(
      path,
      spec,
      'gw= needs the address it is reached from: ip=CIDR',
      'SPEC',
    );
  return [head ?? '', options, rates];
}

// Splits NAME@NETNS.
function nameAt(value: string): { name: string; netns?: string } {
  const at = value.indexOf('@');
  return at < 0 ? { name: value } : { name: value.slice(0, at), netns: value.slice(at + 1) };
}

/**
 * Parses one `--net` spec.
 * @throws ValidationError naming the spec and what is wrong with it.
 */
export function parseEndpointSpec(spec: string, index = 0): EndpointSpec {
  const path = `--net[${index}]`;
  const [, , rates] = splitOptions(spec, path);
  const rate = rateFromSpecOptions(rates, path);
  const parsed = parseEndpointPart(spec, path);
  return rate ? { ...parsed, rate } : parsed;
}

// The endpoint itself (and its netns) from a spec.
function parseEndpointPart(spec: string, path: string): EndpointSpec {
  const [head, options] = splitOptions(spec, path);
  const colon = head.indexOf(':');
  if (colon < 0)
    throw new ValidationError(path, spec, 'expected KIND:VALUE, e.g. veth:eth0@mynetns', 'SPEC');
  const kind = head.slice(0, colon);
  const value = head.slice(colon + 1);
  switch (kind) {
    case 'tap': {
      const { name, netns } = nameAt(value);
      return withNetns(parseEndpoint({ kind: 'tap', name, create: true, ...options }, path), netns);
    }
    case 'veth': {
      const [target = '', model = 'tcfilter'] = value.split(':');
      const { name, netns } = nameAt(target);
      if (!netns)
        throw new ValidationError(path, spec, 'a veth needs its netns: veth:NAME@NETNS', 'SPEC');
      return withNetns(
        parseEndpoint({ kind: 'veth', name, interworking: model, ...options }, path),
        netns,
      );
    }
    case 'macvlan':
    case 'ipvlan': {
      const { name, netns } = nameAt(value);
      if (!netns)
        throw new ValidationError(
          path,
          spec,
          `a ${kind} needs its netns: ${kind}:NAME@NETNS`,
          'SPEC',
        );
      return withNetns(parseEndpoint({ kind, name, ...options }, path), netns);
    }
    case 'macvtap': {
      const { name, netns } = nameAt(value);
      return withNetns(parseEndpoint({ kind: 'macvtap', name, ...options }, path), netns);
    }
    case 'vhost-user': {
      const mode = value.endsWith(':server') ? 'server' : 'client';
      const socketPath = value.replace(/:(client|server)$/, '');
      return {
        endpoint: parseEndpoint({ kind: 'vhost-user', socketPath, mode, ...options }, path),
      };
    }
    case 'vfio':
    case 'physical':
      return { endpoint: parseEndpoint({ kind: 'physical', pciAddress: value }, path) };
    default:
      throw new ValidationError(
        path,
        spec,
        `unknown endpoint kind "${kind}"; expected tap, veth, macvlan, ipvlan, macvtap, vhost-user or vfio`,
        'SPEC',
      );
  }
}

// Attaches the netns to a parsed endpoint when one was given.
function withNetns(endpoint: EndpointSpec['endpoint'], netns: string | undefined): EndpointSpec {
  return netns ? { endpoint, netns } : { endpoint };
}
