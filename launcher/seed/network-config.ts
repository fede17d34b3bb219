// The guest's network configuration derived from its NICs' endpoints, as a cloud-init
// network-config version 2 document (docs/guest-network.md): each NIC with addresses is
// matched by MAC and gets its addresses, MTU and routes (in an order the kernel accepts:
// route-order.ts); the first such NIC carries the DNS servers and search domains.
import { ValidationError } from '../../core/index.js';
import type { EndpointRoute } from '../../network/endpoints/types.js';
import { parsePrefix, validateMac, validateMtu } from '../../network/validate.js';
import { orderRoutes } from './route-order.js';

/** One guest NIC as the configuration needs it; a scanned veth/macvlan endpoint with a MAC fits. */
export interface GuestNic {
  /** The NIC's key in the document (default nic0, nic1, ... by position). */
  id?: string;
  /** The guest MAC (required when the NIC has addresses: the guest finds it by MAC). */
  mac?: string;
  /** CIDR strings, e.g. 10.0.0.2/24; a NIC without any is left out. */
  addresses?: readonly string[];
  routes?: readonly EndpointRoute[];
  mtu?: number;
}

/** The resolver a guest gets (scanNetns's `dns` fits). */
export interface GuestDns {
  nameservers: readonly string[];
  search: readonly string[];
}

/** One route of a network-config v2 document. */
export interface NetworkConfigRoute {
  to: string;
  via?: string;
  /** 'link' for a route without a gateway. */
  scope?: 'link';
  /** The gateway is taken as reachable on the link (nothing before makes it so). */
  'on-link'?: true;
  mtu?: number;
}

/** One NIC of a network-config v2 document. */
export interface NetworkConfigEthernet {
  match: { macaddress: string };
  addresses: string[];
  mtu?: number;
  routes?: NetworkConfigRoute[];
  nameservers?: { addresses: string[]; search?: string[] };
}

/** A cloud-init network-config version 2 document. */
export interface NetworkConfigV2 {
  version: 2;
  ethernets: Record<string, NetworkConfigEthernet>;
}

// A route as v2 spells it: 'default' stays 'default'; no gateway means scope link.
function v2Route(r: ReturnType<typeof orderRoutes>[number]): NetworkConfigRoute {
  return {
    to: r.dst,
    ...(r.gateway === undefined ? { scope: 'link' as const } : { via: r.gateway }),
    ...(r.onLink ? { 'on-link': true as const } : {}),
    ...(r.mtu === undefined ? {} : { mtu: r.mtu }),
  };
}

// One NIC, checked: addresses parse, MAC and MTU are valid, route fields are IP prefixes.
function ethernet(nic: GuestNic, path: string): NetworkConfigEthernet {
  const addresses = [...(nic.addresses ?? [])];
  addresses.forEach((a, j) => parsePrefix(a, `${path}.addresses[${j}]`));
  const mac = validateMac(nic.mac, `${path}.mac`).toLowerCase();
  const routes = nic.routes ?? [];
  routes.forEach((r, j) => {
    if (r.dst !== 'default') parsePrefix(r.dst, `${path}.routes[${j}].dst`);
    if (r.gateway !== undefined) parsePrefix(r.gateway, `${path}.routes[${j}].gateway`);
    if (r.mtu !== undefined) validateMtu(r.mtu, `${path}.routes[${j}].mtu`);
  });
  return {
    match: { macaddress: mac },
    addresses,
    ...(nic.mtu === undefined ? {} : { mtu: validateMtu(nic.mtu, `${path}.mtu`) }),
    ...(routes.length === 0 ? {} : { routes: orderRoutes(addresses, routes).map(v2Route) }),
  };
}

// The one document both the seed drive and a caller without a drive get.
/**
 * The cloud-init network-config (version 2) for `nics`: one entry per NIC with addresses,
 * matched by MAC, with routes ordered so each can be added after those before it; `dns` goes
 * on the first entry. Pure: the same input gives the same document.
 * @throws {ValidationError} a NIC with addresses but no valid MAC, a malformed address, route
 *   or MTU, or two NICs with one id or one MAC.
 */
export function guestNetworkConfig(
  nics: readonly GuestNic[],
  options: { dns?: GuestDns } = {},
): NetworkConfigV2 {
  const ethernets: Record<string, NetworkConfigEthernet> = {};
  const macs = new Set<string>();
  nics.forEach((nic, i) => {
    if ((nic.addresses ?? []).length === 0) return;
    const path = `nics[${i}]`;
    const id = nic.id ?? `nic${i}`;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(id)) {
      throw new ValidationError(`${path}.id`, id, 'expected letters, digits, _ . -', 'NIC_ID');
    }
    if (Object.hasOwn(ethernets, id)) {
      throw new ValidationError(`${path}.id`, id, 'NIC ids must be unique', 'DUPLICATE_ID');
    }
    const eth = ethernet(nic, path);
    if (macs.has(eth.match.macaddress)) {
      throw new ValidationError(`${path}.mac`, nic.mac, 'two NICs have this MAC', 'DUPLICATE_MAC');
    }
    macs.add(eth.match.macaddress);
    ethernets[id] = eth;
  });
  const first = Object.values(ethernets)[0];
  const dns = options.dns;
  if (first !== undefined && dns !== undefined && dns.nameservers.length > 0) {
    dns.nameservers.forEach((s, j) => parsePrefix(s, `dns.nameservers[${j}]`));
    dns.search.forEach((d, j) => {
      if (!/^[A-Za-z0-9_.-]{1,253}$/.test(d)) {
        throw new ValidationError(`dns.search[${j}]`, d, 'expected a domain name', 'DNS_SEARCH');
      }
    });
    first.nameservers = {
      addresses: [...dns.nameservers],
      ...(dns.search.length === 0 ? {} : { search: [...dns.search] }),
    };
  }
  return { version: 2, ethernets };
}
