// vmlaunch/network: the host plumbing under launch, for callers who wire NICs themselves —
// attach an endpoint's host side, read a netns, manage netns, and speak rtnetlink (links,
// addresses, routes, tc). docs/api.md says what is here and why.

// Endpoints: parse a spec, attach its host side (one call for every kind), detach.
export { attachEndpoint } from '../network/endpoints/attach.js';
export { parseEndpoint, parseEndpoints } from '../network/endpoints/parse.js';
export type {
  AttachContext,
  AttachedEndpoint,
  VhostNetPolicy,
} from '../network/endpoints/attach-types.js';
export type { NicRate, NicRateChange, RateLimit } from '../network/endpoints/rate-limit.js';
export type {
  Endpoint,
  EndpointRoute,
  Interworking,
  IpvlanEndpoint,
  MacvlanEndpoint,
  MacvtapEndpoint,
  PhysicalEndpoint,
  TapEndpoint,
  VethEndpoint,
  VhostUserEndpoint,
} from '../network/endpoints/types.js';
export type {
  HostNic,
  TapHostNic,
  VfioHostNic,
  VhostState,
  VhostUserHostNic,
} from '../network/host-nic.js';

// Reading a netns: what a CNI left there, and its DNS settings.
export {
  scanNetns,
  type ScanOptions,
  type ScanResult,
  type SkippedLink,
  type VhostUserMapping,
  type DnsSettings,
} from '../network/endpoints/scan.js';
export { readNetnsDns } from '../network/endpoints/dns.js';

// Network namespaces: named (/run/netns), anonymous (held by an fd), opened by name or path.
export {
  NETNS_RUN_DIR,
  netnsPath,
  createNetns,
  deleteNetns,
  listNetns,
  openNetns,
  createAnonymousNetns,
  type NamedNetns,
  type AnonymousNetns,
} from '../network/netns/index.js';

// rtnetlink: one client per netns, with links, addresses, routes and tc.
export { openNetlink, type OpenNetlinkOptions } from '../network/netlink/client.js';
export type { NetlinkClient } from '../network/netlink/client.js';
export type {
  LinkApi,
  AddressApi,
  RouteApi,
  TcApi,
  Link,
  LinkRef,
  MacvlanMode,
  BridgeOptions,
  LinkCreateOptions,
  MacvlanOptions,
  VethOptions,
  Address,
  AddressAddOptions,
  Route,
  RouteSpec,
  FilterSelector,
  RedirectOptions,
  MirredAction,
  Qdisc,
  RedirectFilter,
  TbfParams,
} from '../network/netlink/index.js';

// What vmlaunch left on the host after a crash (links, netns), for a clean-up tool.
export {
  collectOrphans,
  type Orphan,
  type OrphanKind,
  type OrphanOptions,
} from '../network/orphans.js';

// The errors of this layer.
export { ValidationError, UnsupportedError, StepError } from '../core/index.js';
export { NetlinkError } from '../network/errors.js';
export { NetnsError } from '../network/netns/errors.js';
export { NetnsNotFoundError, isNetnsNotFound } from '../network/netns/not-found.js';
export { NetlinkClosedError } from '../network/netlink/socket.js';
export { VmlaunchError } from '../core/index.js';
