// The network layer's public face: validation, errors, netns, netlink, endpoints, persistence.
export * from './errors.js';
export * from './validate.js';
export * from './host-nic.js';
export * from './netns/index.js';
export * from './netlink/index.js';
export * from './endpoints/types.js';
export * from './endpoints/parse.js';
export * from './endpoints/attach-types.js';
export * from './persistence.js';
export { scanNetns } from './endpoints/scan.js';
export type {
  ScanOptions,
  ScanResult,
  SkippedLink,
  VhostUserMapping,
  DnsSettings,
} from './endpoints/scan.js';
export { readNetnsDns, parseResolvConf } from './endpoints/dns.js';
export { attachVhostUser } from './endpoints/vhost-user.js';
export {
  attachPhysical,
  createPhysicalAttach,
  type PhysicalAttachOptions,
} from './endpoints/physical.js';
export { DriverBindError, VFIO_PCI_DRIVER } from './endpoints/vfio-sysfs.js';
export type { SysfsIo } from './endpoints/sysfs-pci.js';
export { attachEndpoint } from './endpoints/attach.js';
export { attachVeth, attachVethWith } from './endpoints/veth.js';
export { attachTap, attachTapWith } from './endpoints/tap.js';
export { attachMacvtap, attachMacvtapWith } from './endpoints/macvtap.js';
export type { EndpointDeps } from './endpoints/attach-run.js';
export { openVhostNet, type VhostNetResult } from './endpoints/vhost-net.js';
export {
  LINK_PREFIX,
  NIC_ID_MAX,
  linkName,
  ownerAlias,
  randomLocalMac,
  validateNicId,
} from './endpoints/names.js';
export { REDIRECT_PREF } from './endpoints/interworking-tcfilter.js';
export {
  MacvtapDeviceError,
  findMacvtapDevice,
  macvtapMajor,
  makedev,
  openMacvtapQueues,
  type MacvtapDevice,
  type MacvtapQueues,
} from './macvtap-device.js';
export { collectOrphans, type Orphan, type OrphanKind, type OrphanOptions } from './orphans.js';
export {
  JournalError,
  defaultJournalDir,
  readJournal,
  type JournalEntry,
  type JournalOwner,
} from './journal/index.js';
