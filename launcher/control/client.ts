// The control socket's client side: connect to a VM's socket by name, send one request line,
// wait (bounded) for its response line, and turn a failure into a typed error.
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { ControlError, RemoteOperationError } from './errors.js';
import type { NicRateChange } from '../../network/endpoints/rate-limit.js';
import { LineReader } from './line-reader.js';
import {
  encodeLine,
  MAX_LINE_BYTES,
  parseResponse,
  type AttachReply,
  type ControlRequest,
  type ControlResponse,
  type DetachReply,
  type ExecReply,
  type NicReply,
  type SnapshotReply,
  type StatusReply,
} from './protocol.js';
import {
  checkDirSafe,
  defaultRuntimeRoot,
  lstatOrUndefined,
  runtimePaths,
  validateVmName,
} from './runtime-dir.js';

/** Options of a control call. */
export interface ControlCallOptions {
  /** Runtime root (default /run/vmlaunch, or VMLAUNCH_RUNTIME_DIR). */
  root?: string;
  /** Deadline for the whole call in ms (default 60 s; exec/detach add their own timeout). */
  timeout?: number;
}

type RequestBody = ControlRequest extends infer R
  ? R extends ControlRequest
    ? Omit<R, 'id'>
    : never
  : never;

let nextId = 1;

// Sends one request to `socketPath` and resolves with the matching response.
/**
 * @throws ControlError NO_SUCH_VM (no socket / refused), TIMEOUT, DISCONNECTED or PROTOCOL.
 */
export function callSocket(
  socketPath: string,
  body: RequestBody,
  timeout = 60_000,
): Promise<ControlResponse> {
  const request: ControlRequest = { ...body, id: nextId++ };
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let settled = false;
    const finish = (error: Error | undefined, response?: ControlResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(response!);
    };
    const timer = setTimeout(
      () =>
        finish(
          new ControlError('TIMEOUT', `no answer from ${socketPath} within ${timeout} ms`, {
            path: socketPath,
          }),
        ),
      timeout,
    );
    const reader = new LineReader((line) => {
      try {
        const response = parseResponse(line);
        if (response.id === request.id || response.id === null) finish(undefined, response);
      } catch (error) {
        finish(error as Error);
      }
    }, MAX_LINE_BYTES);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(encodeLine(request)));
    socket.on('data', (chunk: string) => {
      try {
        reader.push(chunk);
      } catch (error) {
        finish(error as Error);
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const missing = error.code === 'ENOENT' || error.code === 'ECONNREFUSED';
      finish(
        missing
          ? new ControlError('NO_SUCH_VM', `no VM is serving ${socketPath} (${error.code})`, {
              path: socketPath,
              cause: error,
            })
          : new ControlError('DISCONNECTED', `control socket ${socketPath}: ${error.message}`, {
              path: socketPath,
              cause: error,
            }),
      );
    });
    socket.on('close', () =>
      finish(
        new ControlError(
          'DISCONNECTED',
          `${socketPath} closed before answering (did the VM stop?)`,
          { path: socketPath },
        ),
      ),
    );
  });
}

// Whether something answers on a socket path (used to tell a live VM from a stale socket).
export async function socketAnswers(path: string, timeout = 1000): Promise<boolean> {
  try {
    await callSocket(path, { op: 'status' }, timeout);
    return true;
  } catch (error) {
    return !(error instanceof ControlError && error.code === 'NO_SUCH_VM');
  }
}

// Calls VM `name` and returns the result, or throws the remote failure as a typed error.
/**
 * @throws ControlError when the channel fails; RemoteOperationError when the operation failed.
 */
export async function callVm<T>(
  name: string,
  body: RequestBody,
  options: ControlCallOptions = {},
): Promise<T> {
  const root = options.root ?? defaultRuntimeRoot();
  const { dir, socket } = runtimePaths(validateVmName(name), root);
  const st = lstatOrUndefined(socket);
  if (!st)
    throw new ControlError('NO_SUCH_VM', `no VM named "${name}" is running (no ${socket})`, {
      path: socket,
    });
  // Talk only to a socket in a dir the server itself would accept: ours, private, no symlinks
  // (docs/faults.md T21) — else another user could pose as the VM and receive our commands.
  const uid = process.getuid?.() ?? 0;
  checkDirSafe(root, { uid, allowRootOwner: true });
  checkDirSafe(dir, { uid, private: true });
  if (!st.isSocket() || (st.uid !== uid && st.uid !== 0)) {
    throw new ControlError('UNSAFE_RUNTIME_DIR', `refusing ${socket}: not a socket of ours`, {
      path: socket,
    });
  }
  const response = await callSocket(socket, body, options.timeout);
  if (response.ok) return response.result as T;
  throw new RemoteOperationError(body.op, response.error);
}

/** Typed calls of each operation. */
export const controlCalls = {
  attach: (
    name: string,
    spec: string,
    nicId?: string,
    options: ControlCallOptions & { opTimeout?: number } = {},
  ) =>
    callVm<AttachReply>(
      name,
      {
        op: 'attach',
        spec,
        ...(nicId ? { nicId } : {}),
        ...(options.opTimeout ? { timeout: options.opTimeout } : {}),
      },
      { ...options, timeout: options.timeout ?? (options.opTimeout ?? 30_000) + 10_000 },
    ),
  detach: (
    name: string,
    nicId: string,
    options: ControlCallOptions & { opTimeout?: number } = {},
  ) =>
    callVm<DetachReply>(
      name,
      { op: 'detach', nicId, ...(options.opTimeout ? { timeout: options.opTimeout } : {}) },
      { ...options, timeout: options.timeout ?? (options.opTimeout ?? 10_000) + 30_000 },
    ),
  nic: (
    name: string,
    nicId: string,
    what: { link?: 'up' | 'down'; stats?: boolean; rate?: NicRateChange },
    options: ControlCallOptions = {},
  ) => callVm<NicReply>(name, { op: 'nic', nicId, ...what }, options),
  snapshot: (
    name: string,
    path: string,
    then?: 'pause' | 'resume' | 'shutdown',
    options: ControlCallOptions & { opTimeout?: number } = {},
  ) =>
    callVm<SnapshotReply>(
      name,
      {
        op: 'snapshot',
        path,
        ...(then ? { then } : {}),
        ...(options.opTimeout ? { timeout: options.opTimeout } : {}),
      },
      { ...options, timeout: options.timeout ?? (options.opTimeout ?? 120_000) + 30_000 },
    ),
  status: (name: string, options: ControlCallOptions = {}) =>
    callVm<StatusReply>(name, { op: 'status' }, options),
  exec: (
    name: string,
    command: string,
    options: ControlCallOptions & { opTimeout?: number } = {},
  ) =>
    callVm<ExecReply>(
      name,
      { op: 'exec', command, ...(options.opTimeout ? { timeout: options.opTimeout } : {}) },
      { ...options, timeout: options.timeout ?? (options.opTimeout ?? 30_000) + 10_000 },
    ),
};

// Names of runtime dirs under the root (live or not; status tells which answer).
export function listVmNames(root = defaultRuntimeRoot()): string[] {
  try {
    return readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.startsWith('.')) // '.journal' is not a VM
      .map((d) => d.name)
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
