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
