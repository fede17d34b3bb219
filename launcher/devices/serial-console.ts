// The guest's serial console: a chardev (an inherited socket we read and write, or a log file)
// wired to the machine's first ISA serial port with `-serial chardev:ID`, which the guest
// kernel sees as ttyS0 on every template here.
import { UnsupportedError } from '../../core/index.js';
import { validateQemuId } from '../opts.js';
import { fileChardev, socketChardev } from './chardev.js';
import type { FdRef, QemuDevice } from './types.js';

/** Where the console goes: a connected socket fd (bidirectional) or a file (output only). */
export type ConsoleTarget = { kind: 'socket'; fd: FdRef } | { kind: 'file'; file: string | FdRef };

// The serial console as one object; the ISA serial port exists from start, so no hot plug.
export function serialConsole(id: string, target: ConsoleTarget, path = 'console'): QemuDevice {
  const chardev =
    target.kind === 'socket'
      ? socketChardev({ id, fd: target.fd, errPath: path })
      : fileChardev({ id, file: target.file, errPath: path, fileField: `${path}.path` });
  const validate = (): void => {
    validateQemuId(id, `${path}.id`);
    chardev.validate();
  };
  return {
    id,
    kind: 'serial-console',
    validate,
    toArgs() {
      validate();
      // -serial is not an option list: 'chardev:ID' names the chardev; ids hold no ','.
      return [...chardev.toArgs(), '-serial', `chardev:${id}`];
    },
    toQmp() {
      throw new UnsupportedError(`${path}: the ISA serial port is wired at start, not hot-plugged`);
    },
    toQmpRemove() {
      throw new UnsupportedError(`${path}: the ISA serial port cannot be unplugged`);
    },
  };
}
