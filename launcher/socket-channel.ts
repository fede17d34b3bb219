// A socketpair whose one end QEMU inherits (for QMP or the serial console) and whose other end
// we wrap as a stream: no socket path, so no path race and no permissions to get wrong.
import { Socket } from 'node:net';
import { closeFd, socketpair } from '../native/index.js';

/** Both ends of a channel before and after QEMU inherits its end. */
export class SocketChannel {
  /** Our end. */
  readonly parentFd: number;
  /** QEMU's end: pass it in the spawn fd table, then call `releaseChild()`. */
  readonly childFd: number;
  private childOpen = true;
  private socket: Socket | undefined;
  private closed = false;

  constructor() {
    [this.parentFd, this.childFd] = socketpair();
  }

  // Closes our copy of QEMU's end once QEMU has it, so EOF is seen when QEMU dies.
  releaseChild(): void {
    if (!this.childOpen) return;
    this.childOpen = false;
    closeFd(this.childFd);
  }

  // Wraps our end as a Node stream (once); the socket then owns and closes the fd.
  open(): Socket {
    if (this.closed) throw new Error('the channel is closed');
    this.socket ??= new Socket({ fd: this.parentFd, readable: true, writable: true });
    return this.socket;
  }

  // Gives our end to a new owner (e.g. the QMP transport), which closes it from then on.
  handOver(): number {
    if (this.closed || this.socket) throw new Error('the channel end is already taken');
    this.closed = true;
    this.releaseChild();
    return this.parentFd;
  }

  // Closes whatever is still open: both ends if nothing was wrapped yet.
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.releaseChild();
    if (this.socket) this.socket.destroy();
    else closeFd(this.parentFd);
    this.socket = undefined;
  }
}
