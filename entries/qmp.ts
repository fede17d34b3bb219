// vmlaunch/qmp: the QMP client (typed commands, events, fd passing) that vm.qmp is, for talking
// to a launched VM's QEMU directly or to a QEMU started some other way. docs/api.md.

export { connectQmp, type ConnectQmpOptions, type QmpTarget } from '../launcher/qmp/connect.js';
export type { QmpClient } from '../launcher/qmp/client.js';
export type { QmpConnection, QmpConnectionOptions } from '../launcher/qmp/connection.js';
export type { TransportOptions } from '../launcher/qmp/transport.js';
export type { CallOptions } from '../launcher/qmp/deadline.js';
export type { EventExpectation, EventMatch, IterateOptions } from '../launcher/qmp/events.js';
export type { QmpLogger } from '../launcher/qmp/logger.js';
export type { QmpEvent, QmpGreeting, QmpState } from '../launcher/qmp/types.js';
export type * from '../launcher/qmp/command-types.js';
export {
  QmpAbortedError,
  QmpCommandError,
  QmpConnectError,
  QmpDisconnectedError,
  QmpProtocolError,
  QmpStateError,
  QmpTimeoutError,
} from '../launcher/qmp/errors.js';
export { VmlaunchError } from '../core/index.js';
