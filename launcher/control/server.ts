// The control socket's server side, run by `vmlaunch run`: accepts connections on the VM's
// private runtime dir, hands each request line to a handler one at a time per connection, and
// answers every request with one response line, failures included.
import { chmodSync, lstatSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { ControlError } from './errors.js';
import { LineReader } from './line-reader.js';
import {
  CONTROL_PROTOCOL_VERSION,
  encodeLine,
  MAX_LINE_BYTES,
  parseRequest,
  type ControlRequest,
  type ControlResponse,
  type WireError,
} from './protocol.js';
import {
  OWNER_FILE,
  releaseRuntimeDir,
  unlinkIfInode,
  type OwnerRecord,
  type RuntimeDir,
} from './runtime-dir.js';

/** Carries out one request; its result is sent back as JSON. */
export type ControlHandler = (request: ControlRequest) => Promise<unknown>;

/** Turns a handler failure into what travels (the CLI supplies sentences via explain.ts). */
export type ErrorDescriber = (error: unknown) => WireError;

// Without a describer: the error's own fields.
export function describeErrorPlainly(error: unknown): WireError {
  const e: Error & { code?: unknown } = error instanceof Error ? error : new Error(String(error));
  const code = typeof e.code === 'string' ? e.code : 'ERROR';
  return { code, name: e.name, message: e.message, explanation: e.message };
}

/** A listening control server. */
export interface ControlServer {
  readonly socket: string;
  /** Stops accepting, drops connections, removes the socket (by inode) and the runtime dir. */
  close(): Promise<string[]>;
}

// Waits for `server` to listen on `path`.
function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

// Serves one connection: requests in order, each answered (errors included).
function serveConnection(socket: Socket, handle: ControlHandler, describe: ErrorDescriber): void {
  socket.setEncoding('utf8');
  let chain: Promise<void> = Promise.resolve();
  const send = (response: ControlResponse): void => {
    if (!socket.destroyed) socket.write(encodeLine(response));
  };
  const reader = new LineReader((line) => {
    chain = chain.then(async () => {
      let request: ControlRequest;
      try {
        request = parseRequest(line);
      } catch (error) {
        send({
          v: CONTROL_PROTOCOL_VERSION,
          id: requestId(line),
          ok: false,
          error: describe(error),
        });
        return;
      }
      try {
        const result = await handle(request);
        send({ v: CONTROL_PROTOCOL_VERSION, id: request.id, ok: true, result: result ?? null });
      } catch (error) {
        send({ v: CONTROL_PROTOCOL_VERSION, id: request.id, ok: false, error: describe(error) });
      }
    });
  }, MAX_LINE_BYTES);
  socket.on('data', (chunk: string) => {
    try {
      reader.push(chunk);
    } catch (error) {
      send({ v: CONTROL_PROTOCOL_VERSION, id: null, ok: false, error: describe(error) });
      socket.end();
    }
  });
  socket.on('error', () => undefined);
}

// The id of a request that failed to parse, when one can be read, so the client can match it.
function requestId(line: string): number | null {
  try {
    const id = (JSON.parse(line) as { id?: unknown }).id;
    return typeof id === 'number' ? id : null;
  } catch {
    return null;
  }
}

// `vmlaunch run` serves attach/detach/status/exec to other shells through this.
/**
 * Listens on the runtime dir's control socket (mode 0600 inside the 0700 dir) and records
 * owner.json (our pid and the socket's inode) so only that socket is ever unlinked.
 * @throws Error from listen (EADDRINUSE when something appeared at the path meanwhile).
 */
export async function startControlServer(
  rt: RuntimeDir,
  handle: ControlHandler,
  describe: ErrorDescriber = describeErrorPlainly,
): Promise<ControlServer> {
  const connections = new Set<Socket>();
  const server = createServer((socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
    serveConnection(socket, handle, describe);
  });
  await listen(server, rt.socket);
  let socketIno: number | undefined;
  try {
    socketIno = lstatSync(rt.socket).ino;
    chmodSync(rt.socket, 0o600);
    const owner: OwnerRecord = { pid: process.pid, socketIno };
    writeFileSync(join(rt.dir, OWNER_FILE), JSON.stringify(owner), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    releaseRuntimeDir(rt, socketIno);
    server.close();
    throw new ControlError('UNSAFE_RUNTIME_DIR', `cannot set up ${rt.socket}: ${String(error)}`, {
      path: rt.socket,
      cause: error,
    });
  }
  let closing: Promise<string[]> | undefined;
  return {
    socket: rt.socket,
    close() {
      closing ??= (async () => {
        // Our inode-checked unlink first: libuv unlinks the path on close without checking.
        // (The dir is ours and 0700, so nobody else can put a file there in between.)
        if (socketIno !== undefined) unlinkIfInode(rt.socket, socketIno);
        for (const c of connections) c.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        return releaseRuntimeDir(rt, undefined);
      })();
      return closing;
    },
  };
}
