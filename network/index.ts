// The network layer's public face: validation, errors, netns, netlink, endpoints, persistence.
export * from './errors.js';
export * from './validate.js';
export * from './host-nic.js';
export * from './undo.js';
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
