// Anonymous network namespaces: no name, no file under /run/netns; they live as long as our fd
// (or a process inside them), so a crash cannot leave them behind.
import { closeFd, netnsCreateAnonymous } from '../../native/index.js';

/** An anonymous netns held by `fd`; `path` names it for the addon while the fd is open. */
export interface AnonymousNetns extends Disposable {
  readonly fd: number;
  /** '/proc/self/fd/N': valid only in this process and only until close(). */
  readonly path: string;
  /** Closes the fd (the netns goes away with the last reference); a second call does nothing. */
  close(): void;
}

// Tests and short-lived work need a private netns that vanishes by itself.
/**
 * Creates a netns that exists as long as the returned handle is open.
 * @throws {NativeError} when unshare/open fails (EPERM without CAP_SYS_ADMIN, EMFILE...).
 */
export function createAnonymousNetns(): AnonymousNetns {
  const fd = netnsCreateAnonymous();
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    closeFd(fd);
  };
  return { fd, path: `/proc/self/fd/${fd}`, close, [Symbol.dispose]: close };
}
