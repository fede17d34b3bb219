// The fd lane. QEMU keeps the fds of the last recvmsg on the monitor's chardev until a command
// takes them, and drops (closes) them when newer fds arrive first (chardev/char-socket.c,
// tcp_chr_recv). A command that carries fds therefore runs alone: it waits until every earlier
// reply is in, and later commands wait for its reply.
import type { Deadline } from './deadline.js';

/** Serialises fd-carrying calls against everything else on one connection. */
export class FdLane {
  private held: Promise<void> | undefined;
  private idleWaiters: Array<() => void> = [];

  /** `outstanding` counts calls QEMU has not answered yet (pending or abandoned). */
  constructor(private readonly outstanding: () => number) {}

  /** True while an fd call holds the lane. */
  get busy(): boolean {
    return this.held !== undefined;
  }

  // Lets a plain call through once no fd call holds the lane.
  async pass(deadline: Deadline): Promise<void> {
    while (this.held !== undefined) await deadline.race(this.held);
  }

  // Takes the lane alone once nothing is outstanding; returns the function that releases it.
  // When the lane is free it is taken synchronously, so calls made after this one queue behind.
  async take(deadline: Deadline): Promise<() => void> {
    while (this.held !== undefined) await deadline.race(this.held);
    let wake!: () => void;
    const held = new Promise<void>((resolve) => (wake = resolve));
    this.held = held;
    const release = (): void => {
      if (this.held === held) this.held = undefined;
      wake();
    };
    try {
      while (this.outstanding() > 0) {
        await deadline.race(new Promise<void>((resolve) => this.idleWaiters.push(resolve)));
      }
    } catch (error) {
      release();
      throw error;
    }
    return release;
  }

  // Called whenever a reply settles (or the connection closes): wakes waiters once idle.
  settled(): void {
    if (this.outstanding() > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}
