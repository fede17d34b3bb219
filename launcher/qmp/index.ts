// The QMP client's public face (launcher/qmp): connect, typed commands, events, errors.
export { connectQmp, type ConnectQmpOptions, type QmpTarget } from './connect.js';
export { QmpClient } from './client.js';
export { QmpConnection, type QmpConnectionOptions } from './connection.js';
export { QmpTransport, type TransportOptions } from './transport.js';
export type { CallOptions } from './deadline.js';
export type { EventExpectation, EventMatch, IterateOptions } from './events.js';
export type { QmpLogger } from './logger.js';
export type { QmpEvent, QmpGreeting, QmpState } from './types.js';
export type * from './command-types.js';
export {
  QmpAbortedError,
  QmpCommandError,
  QmpConnectError,
  QmpDisconnectedError,
  QmpProtocolError,
  QmpStateError,
  QmpTimeoutError,
} from './errors.js';
