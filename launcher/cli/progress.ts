// Progress lines for the CLI: each step with its time, and a summary at the end. While a step
// runs, a live status line (spinner, elapsed time, the step's latest log line) shows on a
// terminal's stderr; the result lines go to `out`.
import { StatusLine } from './status-line.js';

/** One timed step's result. */
export interface StepTime {
  name: string;
  ms: number;
  ok: boolean;
}

/** Prints "  ✓ step (123 ms)" lines and keeps the times for the summary. */
export class Progress {
  readonly steps: StepTime[] = [];

  constructor(
    private readonly out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
    private readonly status: StatusLine = new StatusLine(process.stderr),
  ) {}

  // Runs `fn` as the named step, printing its outcome and time; `fn` may feed the live status
  // line its log lines.
  async step<T>(
    name: string,
    fn: (log: (line: string) => void) => Promise<T>,
    detail?: (result: T) => string,
  ): Promise<T> {
    const started = performance.now();
    try {
      const result = await this.status.run(name, fn);
      const ms = Math.round(performance.now() - started);
      this.steps.push({ name, ms, ok: true });
      const extra = detail ? ` — ${detail(result)}` : '';
      this.out(`  ✓ ${name} (${ms} ms)${extra}`);
      return result;
    } catch (error) {
      const ms = Math.round(performance.now() - started);
      this.steps.push({ name, ms, ok: false });
      this.out(`  ✗ ${name} (${ms} ms)`);
      throw error;
    }
  }

  // A short table of every step.
  summary(): string {
    const width = Math.max(...this.steps.map((s) => s.name.length), 4);
    return this.steps
      .map(
        (s) =>
          `  ${s.name.padEnd(width)}  ${String(s.ms).padStart(6)} ms  ${s.ok ? 'ok' : 'FAILED'}`,
      )
      .join('\n');
  }
}
