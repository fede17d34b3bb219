// A scripted fake QMP server on one end of a socketpair. Tests hand the other end to the client
// and script what "QEMU" says: greeting, replies, errors, events, garbage, silence, hang-ups.
// It reads with recvFds, so it sees the fds a client passes, as QEMU's chardev does.
import net from 'node:net';
import { fstatSync } from 'node:fs';
import { closeFd, recvFds, socketpair } from '../../native/index.js';

/** A command the fake received; `fds` are the descriptors that arrived with it (ours to close). */
export interface FakeCommand {
  execute: string;
  arguments: Record<string, unknown> | undefined;
  id: unknown;
  fds: number[];
}

/** The greeting QEMU 7.2 sends (seen on this host). */
export const QEMU_72_GREETING = {
  QMP: {
    version: { qemu: { micro: 22, minor: 2, major: 7 }, package: 'fake' },
    capabilities: ['oob'],
  },
};

/** A fake QMP server; `clientFd` is the end to give to the client under test. */
export class FakeQmp {
  readonly clientFd: number;
  /** Every command received, in order. */
  readonly received: FakeCommand[] = [];
  private readonly serverFd: number;
  private readonly socket: net.Socket;
  private partial = '';
  private heldFds: number[] = [];
  private queue: FakeCommand[] = [];
  private waiters: Array<(command: FakeCommand) => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private peerGone = false;
  private stalled = false;
  private isClosed = false;

  constructor() {
    const [server, client] = socketpair();
    this.serverFd = server;
    this.clientFd = client;
    // Wrapping in a non-reading net.Socket makes the fd non-blocking and gives ordered writes;
    // reads stay with recvFds, polled, so that SCM_RIGHTS fds are seen.
    this.socket = new net.Socket({ fd: server, readable: false, writable: true });
    this.socket.on('error', () => undefined);
    this.poll();
  }

  /** True once the client closed its end. */
  get clientClosed(): boolean {
    return this.peerGone;
  }

  // Sends QEMU's greeting.
  greet(greeting: object = QEMU_72_GREETING): void {
    this.send(greeting);
  }

  // Greets and answers qmp_capabilities, as QEMU does at start.
  async handshake(): Promise<void> {
    this.greet();
    const negotiate = await this.nextCommand();
    if (negotiate.execute !== 'qmp_capabilities') {
      throw new Error(`expected qmp_capabilities, got ${negotiate.execute}`);
    }
    this.reply(negotiate, {});
  }

  // Sends one JSON message as a line (CRLF, as QEMU does).
  send(message: object): void {
    this.sendRaw(`${JSON.stringify(message)}\r\n`);
  }

  // Sends raw text, e.g. garbage or half a line.
  sendRaw(text: string): void {
    if (!this.isClosed) this.socket.write(text);
  }

  // Answers a command with `{"return": value, "id": ...}`.
  reply(command: FakeCommand, value: unknown = {}): void {
    this.send({ return: value, id: command.id });
  }

  // Answers a command with an error of QEMU's shape.
  fail(command: FakeCommand, errorClass: string, desc: string): void {
    this.send({ error: { class: errorClass, desc }, id: command.id });
  }

  // Emits an event with a timestamp.
  event(name: string, data?: object): void {
    const now = Date.now();
    const timestamp = { seconds: Math.floor(now / 1000), microseconds: (now % 1000) * 1000 };
    this.send(data === undefined ? { event: name, timestamp } : { event: name, data, timestamp });
  }

  // The next command the client sends (waits for it).
  nextCommand(): Promise<FakeCommand> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  // Stops reading (as a busy QEMU would), so the client's socket buffer fills; resume() reads on.
  stall(): void {
    this.stalled = true;
  }

  resume(): void {
    this.stalled = false;
  }

  // Hangs up (as a dying QEMU would); fds received but not taken by a test are closed.
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.socket.destroy();
    for (const fd of this.heldFds) closeFd(fd);
    this.heldFds = [];
  }

  private poll(): void {
    if (this.isClosed) return;
    while (!this.stalled) {
      let chunk: { data: Buffer; fds: number[] };
      try {
        chunk = recvFds(this.serverFd, 65536, 16);
      } catch (error) {
        if ((error as { code?: string }).code === 'EAGAIN') break;
        throw error;
      }
      if (chunk.data.length === 0) {
        this.peerGone = true;
        return;
      }
      this.heldFds.push(...chunk.fds);
      this.receive(chunk.data.toString('utf8'));
    }
    this.timer = setTimeout(() => this.poll(), 1);
  }

  private receive(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    const commands = lines.filter((line) => line.trim() !== '').map(parseCommand);
    // QEMU's chardev keeps the fds of a read for the command that takes them; the client sends
    // an fd-carrying line alone, so the fds belong to the last line completed by this read.
    const last = commands.at(-1);
    if (last !== undefined && this.heldFds.length > 0) {
      last.fds = this.heldFds;
      this.heldFds = [];
    }
    for (const command of commands) {
      this.received.push(command);
      const waiter = this.waiters.shift();
      if (waiter) waiter(command);
      else this.queue.push(command);
    }
  }
}

// Parses one line the client sent; the client only sends JSON objects.
function parseCommand(line: string): FakeCommand {
  const message = JSON.parse(line) as Record<string, unknown>;
  return {
    execute: String(message.execute),
    arguments: message.arguments as Record<string, unknown> | undefined,
    id: message.id,
    fds: [],
  };
}

/** Device and inode of an fd, to prove two fds refer to the same open file. */
export function fileIdentity(fd: number): string {
  const stat = fstatSync(fd);
  return `${stat.dev}:${stat.ino}`;
}
