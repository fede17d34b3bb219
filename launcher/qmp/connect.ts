// One call from "a socket" to "a negotiated QMP client", closing the socket if anything fails.
import { QmpClient } from './client.js';
import type { QmpConnectionOptions } from './connection.js';
import type { CallOptions } from './deadline.js';
import { QmpTransport } from './transport.js';

/** Where QMP is: an inherited/socketpair fd (owned by the client from now on) or a socket path. */
export type QmpTarget = { fd: number } | { path: string };

/** Options of connectQmp. */
export interface ConnectQmpOptions extends QmpConnectionOptions {
  /** Greeting + negotiation deadline in ms (and socket connect for paths); default 30000. */
  connectTimeout?: number;
  signal?: AbortSignal;
  maxLineBytes?: number;
}

// Gives callers a ready client in one await, so no half-open connection escapes on failure.
/**
 * Connects, reads the greeting and negotiates capabilities.
 * @throws QmpConnectError on any failure (socket, greeting timeout, QEMU closing, negotiation).
 */
export async function connectQmp(
  target: QmpTarget,
  options: ConnectQmpOptions = {},
): Promise<QmpClient> {
  const transportOptions = { logger: options.logger, maxLineBytes: options.maxLineBytes };
  const wait: CallOptions = { timeout: options.connectTimeout ?? 30_000, signal: options.signal };
  const transport =
    'fd' in target
      ? QmpTransport.fromFd(target.fd, transportOptions)
      : await QmpTransport.connect(target.path, { ...transportOptions, ...wait });
  const client = new QmpClient(transport, options);
  await client.connect(wait);
  return client;
}
