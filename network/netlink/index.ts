// rtnetlink in TypeScript over the addon's socket: the client, its typed results, and the
// pure encoders/decoders (for tools and tests).
export { NetlinkClient, openNetlink } from './client.js';
export type { OpenNetlinkOptions } from './client.js';
export { NetlinkClosedError, NetlinkSocket } from './socket.js';
export type { NetlinkIo } from './socket.js';
export { LinkApi, validateLinkRef } from './links.js';
export {
  backgroundRemovals,
  removeUnlisted,
  removalIo,
  REMOVAL_TIMEOUT_MS,
} from './link-removal.js';
export type { RemovalIo } from './link-removal.js';
export type { BridgeOptions, LinkCreateOptions, MacvlanOptions, VethOptions } from './links.js';
export type { LinkRef } from './link-requests.js';
export { MACVLAN_MODES } from './link-parse.js';
export type { Link, MacvlanMode } from './link-parse.js';
export type { LinkStats } from './link-stats.js';
export { AddressApi } from './addresses.js';
export type { Address, AddressAddOptions } from './addresses.js';
export { RouteApi } from './routes.js';
export type { Route, RouteSpec } from './routes.js';
export { TcApi } from './tc.js';
export type { FilterSelector, RedirectOptions } from './tc.js';
export type { MirredAction, Qdisc, RedirectFilter } from './tc-requests.js';
export type { TbfParams } from './tc-tbf-requests.js';
