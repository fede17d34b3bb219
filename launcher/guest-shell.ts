// Runs commands in the guest over its serial console and returns their output and exit status.
// Each command is framed by markers that cannot be confused with an echo of the command itself
// or with kernel messages, and reaches the guest's eval unchanged (quoted or base64-encoded).
import { randomBytes } from 'node:crypto';
import { AbortError, TimeoutError, VmlaunchError } from '../core/index.js';
import { ConsoleClosedError, type SerialConsole } from './console.js';
import { MarkerSplitter } from './marker-stream.js';

/** The line the default guest's init prints when its console shell is ready. */
export const GUEST_READY_MARKER = 'VMLAUNCH-GUEST-READY';

/** What a guest command printed (stdout and stderr together) and how it exited. */
export interface GuestResult {
  output: string;
  status: number;
}

/** A guest command exited non-zero where success was required. */
export class GuestCommandError extends VmlaunchError {
  readonly command: string;
  readonly result: GuestResult;

  constructor(command: string, result: GuestResult) {
    super(
      `guest command failed with status ${result.status}: ${command}\n${result.output}`,
      'GUEST_COMMAND',
    );
    this.command = command;
    this.result = result;
  }
}

/** Options of one guest command. */
export interface GuestExecOptions {
  /** Deadline in ms (default 30 s). */
  timeout?: number;
  signal?: AbortSignal;
}

/** Options of a streamed guest command. */
export interface GuestStreamOptions {
  /** Called with each piece of output as it arrives (stdout and stderr together, no \r). */
  onOutput: (text: string) => void;
  /** Deadline in ms; default none. */
  timeout?: number;
  signal?: AbortSignal;
}

/** A shell on the guest console (the default guest booted with vmlaunch.console=harness). */
export class GuestShell {
  private queue: Promise<unknown> = Promise.resolve();

  private readonly ready: boolean;

  // `ready`: the guest is past its marker already (a restored VM: the marker was printed
  // before the snapshot and will not be again).
  constructor(
    private readonly console: SerialConsole,
    options: { ready?: boolean } = {},
  ) {
    this.ready = options.ready ?? false;
  }

  /** True when the shell was known to be ready from the start (a restored VM). */
  get isReady(): boolean {
    return this.ready;
  }

  // Waits for the guest's ready marker (printed once its console shell can take commands).
  async waitReady(options: GuestExecOptions = {}): Promise<void> {
    if (this.ready) return;
    await this.console.waitFor(GUEST_READY_MARKER, {
      timeout: options.timeout ?? 60_000,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  // Runs `command` with sh in the guest; resolves with its output and exit status.
  exec(command: string, options: GuestExecOptions = {}): Promise<GuestResult> {
    // One command at a time: the console is a single stream.
    const run = this.queue.then(() => this.execNow(command, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  // Like exec, but hands the output on as it arrives; resolves with the exit status.
  /** @throws TimeoutError, AbortError, ConsoleClosedError (the guest command is interrupted). */
  stream(command: string, options: GuestStreamOptions): Promise<number> {
    const run = this.queue.then(() => this.streamNow(command, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  // Like exec, but a non-zero status is a GuestCommandError; resolves with the output.
  async check(command: string, options: GuestExecOptions = {}): Promise<string> {
    const result = await this.exec(command, options);
    if (result.status !== 0) throw new GuestCommandError(command, result);
    return result.output;
  }

  private async streamNow(command: string, options: GuestStreamOptions): Promise<number> {
    const id = randomBytes(6).toString('hex');
    const splitter = new MarkerSplitter(id);
    const cleanups: Array<() => void> = [];
    const status = new Promise<number>((resolve, reject) => {
      cleanups.push(
        this.console.subscribe((chunk) => {
          const pushed = splitter.push(chunk);
          if (pushed.output) options.onOutput(pushed.output);
          if (pushed.status !== undefined) resolve(pushed.status);
        }),
        this.console.whenClosed((reason) =>
          reject(new ConsoleClosedError(`${reason} while a guest command was running`)),
        ),
      );
      if (options.timeout !== undefined) {
        const ms = options.timeout;
        const timer = setTimeout(
          () => reject(new TimeoutError(`the guest command did not end within ${ms} ms`)),
          ms,
        );
        cleanups.push(() => clearTimeout(timer));
      }
      const onAbort = (): void => reject(new AbortError('the guest command was aborted'));
      if (options.signal?.aborted) onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => options.signal?.removeEventListener('abort', onAbort));
    });
    try {
      await this.console.write(commandLine(id, command));
      return await status;
    } catch (error) {
      // Interrupt what is still running (Ctrl-C) so the next command gets the shell back.
      if (!splitter.done) await this.console.write('\x03').catch(() => undefined);
      throw error;
    } finally {
      for (const cleanup of cleanups) cleanup();
      status.catch(() => undefined);
    }
  }

  private async execNow(command: string, options: GuestExecOptions): Promise<GuestResult> {
    const id = randomBytes(6).toString('hex');
    const begin = `__VML_BEGIN_${id}__`;
    const end = new RegExp(`__VML_END_${id}_(\\d+)__`);
    const line = commandLine(id, command);
    const from = this.console.mark();
    const timeout = options.timeout ?? 30_000;
    const wait = { timeout, from, ...(options.signal ? { signal: options.signal } : {}) };
    const both = Promise.all([this.console.waitFor(begin, wait), this.console.waitFor(end, wait)]);
    // Handled from here on: a write that fails (closed console) must not leave them unobserved.
    both.catch(() => undefined);
    await this.console.write(line);
    const [head, tail] = await both.catch(async (error: unknown) => {
      // Interrupt what is still running (Ctrl-C) so the next command gets the shell back.
      await this.console.write('\x03').catch(() => undefined);
      throw error;
    });
    const output = this.console
      .since(head.end)
      .slice(0, tail.index - head.end)
      .replace(/\r/g, '')
      .replace(/^\n/, '');
    return { output, status: Number(tail.groups[0]) };
  }
}

// What the console shell gets: markers around the command, run by `command eval` with stderr
// joined to stdout and no stdin (`command` keeps a syntax error in the command from discarding
// the rest of the line, end marker included: the shell reports it and the status is 2). The
// split literals ("B""EGIN") keep an echoed command line from matching the markers. A short
// command of printable ASCII without a single quote travels in single quotes, which pass every
// other character through unchanged; any other command travels base64-encoded in a
// here-document of short lines, so quotes and newlines survive and no line nears the tty's
// 4095-byte canonical-mode limit (a command of any size fits). Both hand eval the same text;
// the quoted form spares the guest a command substitution, the decoder's process and the
// here-document, which is most of a first command's cost after a restore under TCG (nothing
// the guest runs has been translated yet).
export function commandLine(id: string, command: string): string {
  const begin = `echo "__VML_B""EGIN_${id}__"; `;
  const end = `echo "__VML_E""ND_${id}_$?__"\n`;
  if (INLINE_COMMAND.test(command))
    return `${begin}command eval '${command}' 2>&1 </dev/null; ${end}`;
  const encoded = Buffer.from(command).toString('base64').replace(/.{76}/g, '$&\n');
  const eof = `__VML_EOF_${id}__`;
  return (
    begin +
    `command eval "$(base64 -d <<'${eof}'\n${encoded.replace(/\n$/, '')}\n${eof}\n)" 2>&1 </dev/null; ` +
    end
  );
}

// Printable ASCII except the single quote, up to 1 KiB: no tty control character, no newline.
const INLINE_COMMAND = /^[\x20-\x26\x28-\x7e]{1,1024}$/;
