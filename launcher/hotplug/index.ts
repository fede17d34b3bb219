// Hot-plug's public face: the contract types, the functions behind vm.attach()/vm.detach(),
// and its errors.
export type * from './types.js';
export { attachNic, ATTACH_TIMEOUT } from './attach.js';
export { attachDrive } from './attach-drive.js';
export { detachNic, DETACH_TIMEOUT } from './detach.js';
export type { HotplugContext, HotplugGuest } from './context.js';
export { HotplugRegistry, type NicRecord, type NicState } from './registry.js';
export { HotplugError, HotplugStateError, NoFreeSlotError, UnplugRejectedError } from './errors.js';
