// Network namespaces: named (under /run/netns, shared with iproute2) and anonymous.
export { NetnsError, type NetnsOperation } from './errors.js';
export { NetnsNotFoundError, isNetnsNotFound } from './not-found.js';
export { NETNS_RUN_DIR, netnsPath } from './paths.js';
export { createNetns, deleteNetns, listNetns, type NamedNetns, type NetnsNative } from './named.js';
export { openNetns } from './open.js';
export { createAnonymousNetns, type AnonymousNetns } from './anonymous.js';
