// The pure half of scan: links, addresses and routes of one netns (already read) -> endpoints.
// No I/O here, so every classification rule is unit-tested on plain data.
import { ValidationError } from '../../core/index.js';
import type { Address, Route } from '../netlink/index.js';
import { RTPROT_KERNEL } from '../netlink/constants.js';
import { MTU_MAX, MTU_MIN } from '../validate.js';
import { validateSocketPath } from './parse.js';
import type { ScannedLink } from './scan-links.js';
import type { Endpoint, Interworking, EndpointRoute } from './types.js';

/** A vhost-user socket the caller says backs a link (scan cannot see such a mapping itself). */
export interface VhostUserMapping {
  socketPath: string;
  mode: 'client' | 'server';
}

/** A link scan did not turn into an endpoint, and why. */
export interface SkippedLink {
  name: string;
  reason: string;
}

/** What a PCI-backed link resolves to in sysfs. */
export interface PciLookup {
  pciAddress: string;
  vendorDevice: string;
  driver: string | undefined;
}

/** The caller's choices that scan cannot infer. */
export interface ClassifyOptions {
  /** ifname -> socket: those links become vhost-user endpoints (addresses or not). */
  vhostUserSockets?: Record<string, VhostUserMapping>;
  /** Interworking of veth endpoints: one model for all, or per ifname; default 'tcfilter'. */
  interworking?: Interworking | Record<string, Interworking>;
}

/** The netns's contents, as read by scan. */
export interface ScanInput {
  links: ScannedLink[];
  addresses: Address[];
  routes: Route[];
  /** The PCI function behind a link, when it has one. */
  pciOf: (link: ScannedLink) => PciLookup | undefined;
}

// Addresses that describe the endpoint's configuration: not the fe80::/64 the kernel makes for
// every up link, nor host-scoped ones.
function configuredAddresses(addresses: Address[], index: number): string[] {
  return addresses
    .filter((a) => a.index === index && a.scope !== 'link' && a.scope !== 'host')
    .map((a) => `${a.address}/${a.prefixLen}`);
}

// Routes through the link, except those the kernel derives from its addresses (proto kernel:
// prefix routes, fe80::/64), which come back by themselves when the addresses are re-added.
// A gateway-less default keeps its family as 0.0.0.0/0 or ::/0 ('default' needs a gateway).
function linkRoutes(routes: Route[], index: number): EndpointRoute[] {
  return routes
    .filter((r) => r.oifIndex === index && r.protocol !== RTPROT_KERNEL)
    .map((r) => {
      const dst =
        r.dst !== 'default' || r.gateway !== undefined
          ? r.dst
          : r.family === 4
            ? '0.0.0.0/0'
            : '::/0';
      const spec: EndpointRoute = { dst };
      if (r.gateway !== undefined) spec.gateway = r.gateway;
      if (r.mtu !== undefined && r.mtu > 0) spec.mtu = r.mtu;
      return spec;
    });
}

// The interworking model the caller chose for a veth.
function interworkingOf(options: ClassifyOptions, name: string): Interworking {
  const choice = options.interworking;
  if (choice === undefined) return 'tcfilter';
  if (typeof choice === 'string') return choice;
  return choice[name] ?? 'tcfilter';
}

// Optional mac/mtu of a NIC endpoint, from the link.
function nicFields(link: ScannedLink): { mac?: string; mtu?: number } {
  const out: { mac?: string; mtu?: number } = {};
  if (link.mac !== undefined && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(link.mac)) out.mac = link.mac;
  if (link.mtu >= MTU_MIN && link.mtu <= MTU_MAX) out.mtu = link.mtu;
  return out;
}

// One link -> an endpoint, or the reason it is not one.
function classify(
  link: ScannedLink,
  input: ScanInput,
  options: ClassifyOptions,
): Endpoint | SkippedLink {
  const skip = (reason: string): SkippedLink => ({ name: link.name, reason });
  if (link.loopback) return skip('loopback');
  const mapping = options.vhostUserSockets?.[link.name];
  if (mapping !== undefined) {
    const { mac, mtu } = nicFields(link);
    return {
      kind: 'vhost-user',
      socketPath: mapping.socketPath,
      mode: mapping.mode,
      ...(mac === undefined ? {} : { mac }),
      ...(mtu === undefined ? {} : { mtu }),
    };
  }
  const addresses = configuredAddresses(input.addresses, link.index);
  if (addresses.length === 0) return skip('no addresses');
  switch (link.kind) {
    case 'veth':
      return {
        kind: 'veth',
        name: link.name,
        interworking: interworkingOf(options, link.name),
        ...nicFields(link),
        addresses,
        routes: linkRoutes(input.routes, link.index),
      };
    case 'macvlan':
    case 'ipvlan':
      return {
        kind: link.kind,
        name: link.name,
        ...nicFields(link),
        addresses,
        routes: linkRoutes(input.routes, link.index),
      };
    case 'tun':
      if (link.tunType === 'tap') return { kind: 'tap', name: link.name, ...nicFields(link) };
      return skip(`a ${link.tunType ?? 'tun/tap of unknown type'} device (L3), not a tap`);
    case 'macvtap':
      return { kind: 'macvtap', name: link.name, ...nicFields(link) };
    case undefined: {
      const pci = input.pciOf(link);
      if (pci === undefined) return skip('no link kind and no PCI device behind it');
      return {
        kind: 'physical',
        pciAddress: pci.pciAddress,
        vendorDevice: pci.vendorDevice,
        ...(pci.driver === undefined ? {} : { driver: pci.driver }),
      };
    }
    default:
      return skip(`link kind '${link.kind}' is not an endpoint kind`);
  }
}

// Checks the caller's mapping before any link is classified: every name must exist.
function checkMappings(links: ScannedLink[], options: ClassifyOptions): void {
  for (const [name, mapping] of Object.entries(options.vhostUserSockets ?? {})) {
    const path = `options.vhostUserSockets.${name}`;
    validateSocketPath(mapping?.socketPath, `${path}.socketPath`);
    if (mapping.mode !== 'client' && mapping.mode !== 'server') {
      throw new ValidationError(`${path}.mode`, mapping.mode, "expected 'client' or 'server'");
    }
    if (!links.some((l) => l.name === name)) {
      throw new ValidationError(path, name, 'no link of that name in the scanned netns', 'NO_LINK');
    }
  }
}

// Scan's rules in one place: what becomes which endpoint, and what is skipped and why.
/**
 * Classifies the links of one netns into endpoints (in link order) and skipped links.
 * @throws {ValidationError} a vhost-user mapping with a bad path or mode, or naming no link.
 */
export function classifyLinks(
  input: ScanInput,
  options: ClassifyOptions = {},
): { endpoints: Endpoint[]; skipped: SkippedLink[] } {
  checkMappings(input.links, options);
  const endpoints: Endpoint[] = [];
  const skipped: SkippedLink[] = [];
  for (const link of [...input.links].sort((a, b) => a.index - b.index)) {
    const result = classify(link, input, options);
    if ('reason' in result) skipped.push(result);
    else endpoints.push(result);
  }
  return { endpoints, skipped };
}
