// A live status line for long CLI steps (a guest build, a boot): a spinner, what is running, its
// elapsed seconds and the latest log line, redrawn in place. Only on a terminal: when the stream
// is a pipe or a file (scripts, CI, tests) it writes nothing at all.
import { stripVTControlCharacters } from 'node:util';

/** What the status line writes to: process.stderr, or a fake in tests. */
export interface StatusStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Carriage return and "erase the whole line" (ECMA-48 EL 2): the line is redrawn in place. */
const CLEAR = '\r\x1b[2K';

/** A spinner line on a terminal, silent elsewhere; start() a step, log() its lines, stop(). */
export class StatusLine {
  /** True when the stream is a terminal (otherwise every call is a no-op). */
  readonly enabled: boolean;
  private text = '';
  private detail = '';
  private started = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: StatusStream = process.stderr,
    private readonly intervalMs = 100,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.enabled = stream.isTTY === true;
  }

  // Shows `text` with a spinner and the time since this call, until stop() or the next start().
  start(text: string): void {
    if (!this.enabled) return;
    this.text = text;
    this.detail = '';
    this.started = this.now();
    this.render();
    // Unref'd: a status line never keeps the process alive.
    this.timer ??= setInterval(() => this.render(), this.intervalMs).unref();
  }

  // Shows the latest non-empty line of `text` (a log line, a console chunk) after the step.
  log(text: string): void {
    if (!this.enabled || this.timer === undefined) return;
    const line = stripVTControlCharacters(text)
      .split(/\r\n|\r|\n/)
      // eslint-disable-next-line no-control-regex
      .map((l) => l.replace(/[\x00-\x1f\x7f]/g, '').trim())
      .filter(Boolean)
      .pop();
    if (line === undefined) return;
    this.detail = line;
    this.render();
  }

  // Erases the line, so whatever is written next starts on a clean line.
  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.stream.write(CLEAR);
  }

  // Runs `fn` under the status line; `fn` gets log() to feed it lines.
  async run<T>(text: string, fn: (log: (line: string) => void) => Promise<T>): Promise<T> {
    this.start(text);
    try {
      return await fn((line) => this.log(line));
    } finally {
      this.stop();
    }
  }

  // One frame: spinner, text, whole seconds, detail; cut to the width so it never wraps.
  private render(): void {
    const seconds = Math.floor((this.now() - this.started) / 1000);
    const spinner = FRAMES[this.frame++ % FRAMES.length];
    const chars = [
      ...`${spinner} ${this.text} (${seconds} s)${this.detail ? ` — ${this.detail}` : ''}`,
    ];
    const width = Math.max((this.stream.columns ?? 80) - 1, 10);
    const line = chars.length > width ? `${chars.slice(0, width - 1).join('')}…` : chars.join('');
    this.stream.write(`${CLEAR}${line}`);
  }
}
