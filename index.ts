// vmlaunch's public API: everything a script needs, from one entry point.
export * from './core/index.js';
export * from './native/index.js';
export * from './network/index.js';
export * from './launcher/index.js';
