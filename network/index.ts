// The network layer's public face: validation, errors, netns, netlink, endpoints.
export * from './errors.js';
export * from './validate.js';
export * from './host-nic.js';
