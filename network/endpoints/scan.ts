// scan(netns): what a network namespace (typically one CNI prepared) offers a VM, as endpoints.
// Reads links, addresses and routes over rtnetlink, the PCI device behind a NIC from sysfs,
// and the resolver configuration a process in that netns would get from iproute2; rules are in
// scan-classify.ts. Scan only reads: the one thing it creates, its netlink socket when the
// caller passes none, is closed whatever happens.
import { join } from 'node:path';
import type { NetlinkClient } from '../netlink/index.js';
import { openNetlink } from '../netlink/index.js';
import { StepError, StepRunner } from '../../core/index.js';
import type { DnsOptions, DnsSettings } from './dns.js';
import { readNetnsDns } from './dns.js';
import type { ClassifyOptions, PciLookup, SkippedLink } from './scan-classify.js';
import { classifyLinks } from './scan-classify.js';
import type { ScannedLink } from './scan-links.js';
import { listScannedLinks } from './scan-links.js';
import type { SysfsIo } from './sysfs-pci.js';
import {
  nearestPciAddress,
  pciAddressOfDevice,
  readPciIdentity,
  realSysfsIo,
  SYSFS_ROOT,
} from './sysfs-pci.js';
import type { Endpoint } from './types.js';

export type { SkippedLink, VhostUserMapping } from './scan-classify.js';
export type { DnsSettings } from './dns.js';

/** How to scan: the caller's mappings and models, and seams for tests. */
export interface ScanOptions extends ClassifyOptions, DnsOptions {
  /** Root of sysfs (default /sys), for the PCI device behind a physical NIC. */
  sysfsRoot?: string;
  /** An open client in the netns; scan opens (and closes) its own when absent. */
  netlink?: NetlinkClient;
  /** sysfs access (tests pass a fake). */
  sysfsIo?: SysfsIo;
}

/** What scan found. */
export interface ScanResult {
  /** One endpoint per usable link, in ifindex order. */
  endpoints: Endpoint[];
  /** The resolver configuration of the netns. */
  dns: DnsSettings;
  /** Links that are not endpoints (loopback, no addresses, an unsupported kind), with why. */
  skipped: SkippedLink[];
}

// The PCI function behind a link: from rtnetlink's parent device; for the caller's own netns
// on kernels without IFLA_PARENT_DEV_* also from /sys/class/net (which shows only that netns).
function pciLookup(
  io: SysfsIo,
  root: string,
  ownNetns: boolean,
): (link: ScannedLink) => PciLookup | undefined {
  return (link) => {
    let address: string | undefined;
    if (link.parent !== undefined) {
      address = pciAddressOfDevice(io, root, link.parent.bus, link.parent.name);
    } else if (ownNetns && /^[\w.:-]+$/.test(link.name) && !/^\.+$/.test(link.name)) {
      address = nearestPciAddress(io, root, join(root, 'class/net', link.name, 'device'));
    }
    if (address === undefined) return undefined;
    const id = readPciIdentity(io, root, address);
    return { pciAddress: address, vendorDevice: id.vendorDevice, driver: id.driver };
  };
}

// The entry point of scan: a netns in, its endpoints and DNS out.
/**
 * Scans `netns` (a name under /run/netns, an absolute path, or undefined for the caller's own)
 * and returns its endpoints: veth (interworking 'tcfilter' unless options say otherwise),
 * tap, macvtap, physical (a PCI device behind the link) and vhost-user (links named in
 * `options.vhostUserSockets`), each with MAC and MTU, veths with their addresses (CIDR) and
 * the routes through them (with route MTU); loopback and address-less links are skipped.
 * @throws {ValidationError} a malformed or missing netns, or a bad vhost-user mapping.
 * @throws {StepError} naming the read that failed (links, addresses, routes, resolv.conf).
 * @throws {Error} when sysfs shows a PCI device without readable vendor/device files.
 */
export async function scanNetns(
  netns: string | undefined,
  options: ScanOptions = {},
): Promise<ScanResult> {
  const steps = new StepRunner();
  let result: ScanResult;
  try {
    let client = options.netlink;
    if (client === undefined) {
      const opened = openNetlink(netns);
      steps.push('close netlink socket', () => opened.close());
      client = opened;
    }
    const c = client;
    const links = await steps.step('list links', () => listScannedLinks(c));
    const addresses = await steps.step('list addresses', () => c.addresses.list());
    const routes = await steps.step('list routes', () => c.routes.list());
    const io = options.sysfsIo ?? realSysfsIo;
    const pciOf = pciLookup(io, options.sysfsRoot ?? SYSFS_ROOT, netns === undefined);
    const found = classifyLinks({ links, addresses, routes, pciOf }, options);
    const dns = await steps.step('read resolv.conf', () => readNetnsDns(netns, options));
    result = { ...found, dns };
  } catch (error) {
    await steps.unwind();
    throw error;
  }
  const errors = await steps.unwind();
  if (errors.length > 0) throw new StepError('close netlink socket', errors[0], errors.slice(1));
  return result;
}
