// The QMP monitor on an inherited socket: `-chardev socket,id=qmp,fd=N -mon chardev=qmp,
// mode=control`. QEMU speaks QMP on the socketpair end it inherited, so there is no socket
// path to race on (chardev/char-socket.c accepts a connected fd).
import { UnsupportedError } from '../../core/index.js';
import { formatOpts } from '../opts.js';
import { socketChardev } from './chardev.js';
import type { FdRef, QemuDevice } from './types.js';

export const QMP_CHARDEV_ID = 'qmp';

// The QMP monitor as one object; a monitor is part of the launch, never hot-plugged by us.
export function qmpMonitor(fd: FdRef, path = 'qmp'): QemuDevice {
  const chardev = socketChardev({ id: QMP_CHARDEV_ID, fd, errPath: path });
  return {
    id: QMP_CHARDEV_ID,
    kind: 'qmp-monitor',
    validate: () => chardev.validate(),
    toArgs: () => [
      ...chardev.toArgs(),
      '-mon',
      formatOpts({ chardev: QMP_CHARDEV_ID, mode: 'control' }, { path }),
    ],
    toQmp() {
      throw new UnsupportedError(`${path}: the QMP monitor is set up at launch`);
    },
    toQmpRemove() {
      throw new UnsupportedError(`${path}: the QMP monitor cannot be removed`);
    },
  };
}
