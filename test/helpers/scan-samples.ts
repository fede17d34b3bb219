// Netlink objects as the scan reads them (links, addresses, routes) with defaults, for the unit
// tests of scan classification; each test overrides what matters to it.
import type { ScannedLink } from '../../network/endpoints/scan-links.js';
import type { Address, Route } from '../../network/netlink/index.js';

/** A scanned link; its MAC is `macPrefix:` + the index in hex. */
export function scannedLink(
  index: number,
  name: string,
  extra: Partial<ScannedLink> = {},
  macPrefix = '02:00:00:00:00',
): ScannedLink {
  return {
    index,
    name,
    kind: undefined,
    slaveKind: undefined,
    mtu: 1500,
    txqlen: 1000,
    mac: `${macPrefix}:${index.toString(16).padStart(2, '0')}`,
    flags: 0x1003,
    up: true,
    lowerUp: true,
    operstate: 'up',
    masterIndex: undefined,
    parentIndex: undefined,
    peerIndex: undefined,
    linkNetnsId: undefined,
    alias: undefined,
    macvlanMode: undefined,
    mcastSnooping: undefined,
    tunType: undefined,
    parent: undefined,
    loopback: false,
    ...extra,
  };
}

/** An address on link `index`, from CIDR notation. */
export function scannedAddr(index: number, cidr: string, scope = 'global'): Address {
  const [address, len] = cidr.split('/');
  return {
    index,
    family: address!.includes(':') ? 6 : 4,
    address: address!,
    prefixLen: Number(len),
    scope,
    flags: 0,
    label: undefined,
    peer: undefined,
    broadcast: undefined,
  };
}

/** A main-table route out of link `oif`; its family follows `dst`. */
export function scannedRoute(oif: number, dst: string, extra: Partial<Route> = {}): Route {
  return {
    family: dst.includes(':') ? 6 : 4,
    dst,
    gateway: undefined,
    oifIndex: oif,
    prefsrc: undefined,
    metric: undefined,
    protocol: 3,
    scope: 'global',
    mtu: undefined,
    ...extra,
  };
}
