// One long-lived `virsh -c URI` reading commands from a pipe: each command is followed by an
// `echo` of a unique token, and its output is what virsh printed before the token. The
// connection stays open across commands, as in a program using libvirt's API, so the times
// are libvirt's work and not virsh's start-up and connect.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

/** What one virsh command printed, and how long it took until virsh was done with it. */
export interface VirshResult {
  output: string;
  ms: number;
}

// A virsh process and the command in flight.
export class VirshShell {
  private buffer = '';
  private pending:
    { token: string; started: number; resolve: (r: VirshResult) => void } | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (c: string) => this.take(c));
    child.stderr.on('data', (c: string) => this.take(c));
  }

  // Starts virsh on `uri`.
  static open(uri: string): Promise<VirshShell> {
    // stderr into the same pipe as stdout, so an error is read before the token that follows it.
    const child = spawn('sh', ['-c', 'exec virsh -q -c "$0" 2>&1', uri], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return Promise.resolve(new VirshShell(child));
  }

  // Runs one command; rejects when virsh printed an error for it (the output names it).
  run(command: string): Promise<VirshResult> {
    const next = this.queue.then(() => this.runNow(command));
    this.queue = next.catch(() => undefined);
    return next;
  }

  // Ends virsh.
  close(): void {
    this.child.stdin.end();
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
  }

  private runNow(command: string): Promise<VirshResult> {
    if (this.child.exitCode !== null) return Promise.reject(new Error('virsh has exited'));
    const token = `vml-virsh-done-${Math.random().toString(36).slice(2)}`;
    return new Promise<VirshResult>((resolve) => {
      this.pending = { token, started: performance.now(), resolve };
      this.buffer = '';
      this.child.stdin.write(`${command}\necho ${token}\n`);
    }).then((r) => {
      if (/^error:/m.test(r.output)) throw new Error(`virsh ${command}: ${r.output.trim()}`);
      return r;
    });
  }

  private take(chunk: string): void {
    this.buffer += chunk;
    const p = this.pending;
    if (!p) return;
    const at = this.buffer.indexOf(p.token);
    if (at < 0) return;
    this.pending = undefined;
    p.resolve({ output: this.buffer.slice(0, at), ms: performance.now() - p.started });
  }
}
