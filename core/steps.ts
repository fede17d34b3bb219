// Named steps over an undo stack, the shape of every operation with side effects: each step
// registers the inverse of what it made; a failure, or an abort noticed before a step, unwinds
// everything so far in reverse and is reported as an error that names the step.
import { AbortError, RolledBackError, StepError } from './errors.js';
import { UndoStack, type Undo } from './undo.js';

/**
 * Builds the error a failed step is reported as, once the steps before it are undone: the
 * step's name, what it threw (an AbortError when the signal ended the run) and the undo
 * actions that failed. It may return `cause` itself (a config error that keeps its type).
 */
export type StepFailure = (
  step: string,
  cause: unknown,
  rollbackErrors: Error[],
) => Error | Promise<Error>;

/** How a StepRunner reports failures and notices cancellation. */
export interface StepRunnerOptions {
  /** Checked before every step: once aborted, the next step fails with an AbortError. */
  signal?: AbortSignal | undefined;
  /** The error a failed step becomes; default: a StepError (see defaultStepFailure). */
  fail?: StepFailure;
  // A step that waits on something it cannot cut short (a spawn, a probe) is where an abort
  // that landed meanwhile belongs: launch and hot-plug name it so.
  /**
   * Also check the signal as each step of run() but the last finishes, inside that step: an
   * abort that lands during a step is then named after it, not after the next one.
   */
  checkAfterStep?: boolean;
}

/** One step of a list: it does its work on the shared context and returns its undo, if any. */
export interface Step<C> {
  readonly name: string;
  run(context: C): Undo | void | Promise<Undo | void>;
}

// An error that already names its step (a nested run's) is kept unless rollback also failed.
/** The default StepFailure: the cause when it is a RolledBackError and nothing was left, else a StepError. */
export const defaultStepFailure: StepFailure = (step, cause, rollbackErrors) =>
  cause instanceof RolledBackError && rollbackErrors.length === 0
    ? cause
    : new StepError(step, cause, rollbackErrors);

/** Runs named steps, keeps their inverses, and unwinds them in reverse when one fails. */
export class StepRunner {
  private stack = new UndoStack();
  private readonly signal: AbortSignal | undefined;
  private readonly fail: StepFailure;
  private readonly checkAfterStep: boolean;
  private currentStep: string | undefined;

  constructor(options: StepRunnerOptions = {}) {
    this.signal = options.signal;
    this.fail = options.fail ?? defaultStepFailure;
    this.checkAfterStep = options.checkAfterStep ?? false;
  }

  /** The step running now, or the last one started; undefined before the first. */
  get current(): string | undefined {
    return this.currentStep;
  }

  /** Names of the registered undo actions, oldest first. */
  get undoNames(): string[] {
    return this.stack.names;
  }

  // Inside a step, the inverse is pushed as soon as the thing exists, so a failure later in
  // the same step still undoes it.
  /** Registers the inverse of something just made; run on failure or by whoever owns the rest. */
  push(name: string, undo: Undo): void {
    this.stack.push(name, undo);
  }

  // Each step is where cancellation is honoured and what a failure is named after.
  /**
   * Runs `action` as step `name`; the signal is checked first. On failure (or abort) every
   * registered inverse runs, newest first, and the StepFailure's error is thrown.
   * @throws what the StepFailure returns (default: StepError naming the step).
   */
  async step<T>(name: string, action: () => T | Promise<T>): Promise<T> {
    this.currentStep = name;
    try {
      this.throwIfAborted();
      return await action();
    } catch (error) {
      throw await this.fail(name, error, await this.stack.unwind());
    }
  }

  /**
   * Runs `steps` in order, each through step(); the undo a step returns is registered under
   * the step's name. The signal is checked before each step, and with checkAfterStep as each
   * but the last ends (not after the last: by then the work is done and belongs to the caller).
   * @throws what the StepFailure returns, naming the step that failed or met the abort.
   */
  async run<C>(steps: readonly Step<C>[], context: C): Promise<void> {
    for (const [i, s] of steps.entries()) {
      await this.step(s.name, async () => {
        const undo = await s.run(context);
        if (undo) this.push(s.name, undo);
        if (this.checkAfterStep && i < steps.length - 1) this.throwIfAborted();
      });
    }
  }

  // The one place an abort becomes an error: an AbortError whose cause is the signal's reason.
  private throwIfAborted(): void {
    if (this.signal?.aborted) throw new AbortError(undefined, { cause: this.signal.reason });
  }

  // For failures outside any step (the caller's own code between steps).
  /** Runs every registered inverse now, newest first; returns the ones that failed. */
  unwind(): Promise<Error[]> {
    return this.stack.unwind();
  }

  // A finished operation hands what it made to its owner (detach, shutdown) to undo later.
  /** Moves the registered inverses to a new UndoStack and empties this runner's. */
  transfer(): UndoStack {
    return this.stack.transfer();
  }
}
