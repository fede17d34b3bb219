// Character devices: a unix socket (by path, as server or client, or an inherited/passed
// socket fd) and a plain file. Used by QMP, the serial console and vhost-user.
//
// QEMU facts (qapi/char.json ChardevSocket, chardev/char-socket.c):
// - server=on listens, wait=off does not block startup on the first client;
// - reconnect=N (seconds) is for clients only ("'reconnect' option is incompatible with
//   'server'"); wait= is for servers only;
// - fd=N takes a connected socket through monitor_fd_param (number or getfd name);
// - QMP chardev-add uses the legacy address union: addr {type:'unix', data:{path}} or
//   {type:'fd', data:{str}}.
// A unix socket path is at most 107 bytes (sun_path is 108 including the NUL, unix(7)).
import { ValidationError } from '../../core/index.js';
import { checkArgText, formatOpts, validateQemuId } from '../opts.js';
import type { FdRef, QemuDevice, QmpCommandSpec } from './types.js';
import { checkInt, formatFdParam, formatFdPath } from './types.js';

export const SUN_PATH_MAX_BYTES = 107;

/** A socket chardev on a path (server or client) or on a connected fd. */
export type SocketChardevSpec = (
  | { id: string; path: string; server: true; wait?: boolean }
  | { id: string; path: string; server: false; reconnect?: number }
  | { id: string; fd: FdRef }
) & {
  /** Config path for errors ('qmp'); errors name `${errPath}.id`, `.path`, `.fd`... */
  errPath?: string;
  /** Overrides the error path of the socket path (e.g. 'nics[0].socketPath'). */
  pathField?: string;
};

// Typed options, shared by the argv and the QMP form.
function socketOptions(spec: SocketChardevSpec, where: string) {
  if ('fd' in spec) return { fd: formatFdParam(spec.fd, `${where}.fd`) };
  const field = spec.pathField ?? `${where}.path`;
  const bytes = Buffer.byteLength(checkArgText(spec.path, field));
  if (bytes === 0 || bytes > SUN_PATH_MAX_BYTES) {
    throw new ValidationError(
      field,
      spec.path,
      `a unix socket path is 1 to ${SUN_PATH_MAX_BYTES} bytes`,
      'SOCKET_PATH_LENGTH',
    );
  }
  if (spec.server) {
    return { path: spec.path, server: true, wait: spec.wait ?? false };
  }
  if (spec.reconnect !== undefined) checkInt(spec.reconnect, `${where}.reconnect`, 0, 86_400);
  return { path: spec.path, server: false, reconnect: spec.reconnect };
}

// The socket chardev as one object (argv `-chardev socket,...` or QMP chardev-add).
export function socketChardev(spec: SocketChardevSpec): QemuDevice {
  const where = spec.errPath ?? 'chardev';
  const validate = (): void => {
    validateQemuId(spec.id, `${where}.id`);
    socketOptions(spec, where);
  };
  return {
    id: spec.id,
    kind: 'chardev-socket',
    validate,
    toArgs() {
      validate();
      return [
        '-chardev',
        formatOpts(
          { id: spec.id, ...socketOptions(spec, where) },
          { positional: 'socket', path: where },
        ),
      ];
    },
    toQmp(): QmpCommandSpec[] {
      validate();
      const opts = socketOptions(spec, where);
      const addr =
        'fd' in opts
          ? { type: 'fd', data: { str: opts.fd } }
          : { type: 'unix', data: { path: opts.path } };
      // QMP's ChardevSocket defaults server to true (the argv form to false): a passed, connected
      // fd is a client ("Failed to listen on fd socket" otherwise).
      const data: Record<string, unknown> = 'fd' in opts ? { addr, server: false } : { addr };
      if ('server' in opts) {
        data.server = opts.server;
        if ('wait' in opts) data.wait = opts.wait;
        if ('reconnect' in opts && opts.reconnect !== undefined) data.reconnect = opts.reconnect;
      }
      return [
        { execute: 'chardev-add', arguments: { id: spec.id, backend: { type: 'socket', data } } },
      ];
    },
    toQmpRemove() {
      return [{ execute: 'chardev-remove', arguments: { id: spec.id } }];
    },
  };
}

/** A chardev writing to a file; `file` may be a path or an fd (as /dev/fd/N or /dev/fdset/N). */
export interface FileChardevSpec {
  id: string;
  file: string | FdRef;
  errPath?: string;
  /** Overrides the error path of the file (e.g. 'console.path', the VmConfig field). */
  fileField?: string;
}

// A file chardev (console log); QEMU opens the path itself, so fdsets work here.
export function fileChardev(spec: FileChardevSpec): QemuDevice {
  const where = spec.errPath ?? 'chardev';
  const field = spec.fileField ?? `${where}.file`;
  const target = (): string => {
    if (typeof spec.file !== 'string') return formatFdPath(spec.file, field);
    if (spec.file.length === 0) {
      throw new ValidationError(field, spec.file, 'a file path may not be empty', 'PATH');
    }
    return checkArgText(spec.file, field);
  };
  const validate = (): void => {
    validateQemuId(spec.id, `${where}.id`);
    target();
  };
  return {
    id: spec.id,
    kind: 'chardev-file',
    validate,
    toArgs() {
      validate();
      return [
        '-chardev',
        formatOpts({ id: spec.id, path: target() }, { positional: 'file', path: where }),
      ];
    },
    toQmp(): QmpCommandSpec[] {
      validate();
      return [
        {
          execute: 'chardev-add',
          arguments: { id: spec.id, backend: { type: 'file', data: { out: target() } } },
        },
      ];
    },
    toQmpRemove() {
      return [{ execute: 'chardev-remove', arguments: { id: spec.id } }];
    },
  };
}
