// The undo stack behind every multi-step operation: each step that creates something registers
// its inverse; on failure the inverses run once, in reverse, and the first error is kept with
// the rollback failures attached to it, never replacing it.
import { VmlaunchError } from '../native/index.js';

/** A step of a multi-step operation failed; `step` names it and `cause` is what went wrong. */
export class StepError extends VmlaunchError {
  readonly step: string;
  /** Errors of undo actions that failed while rolling back (the leftovers they name). */
  readonly rollbackErrors: Error[];

  constructor(step: string, cause: unknown, rollbackErrors: Error[] = []) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const leftovers = rollbackErrors.length
      ? `; rollback also failed: ${rollbackErrors.map((e) => e.message).join('; ')}`
      : '';
    const code = cause instanceof VmlaunchError ? cause.code : 'STEP_FAILED';
    super(`${step}: ${reason}${leftovers}`, code, { cause });
    this.step = step;
    this.rollbackErrors = rollbackErrors;
  }
}

interface UndoEntry {
  name: string;
  undo: () => void | Promise<void>;
}

/** Inverses of what has been done so far, run in reverse on failure or at teardown. */
export class UndoStack {
  private entries: UndoEntry[] = [];
  private unwinding = false;

  /** Names of the registered undo actions, oldest first. */
  get names(): string[] {
    return this.entries.map((e) => e.name);
  }

  // Registers the inverse of something just created.
  push(name: string, undo: () => void | Promise<void>): void {
    this.entries.push({ name, undo });
  }

  // Runs `action` as the step `name`; if it fails, unwinds everything and throws a StepError.
  async step<T>(name: string, action: () => T | Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      const rollbackErrors = await this.unwind();
      if (error instanceof StepError && rollbackErrors.length === 0) throw error;
      throw new StepError(name, error, rollbackErrors);
    }
  }

  // Runs every undo action once, newest first; later actions still run when one fails.
  async unwind(): Promise<Error[]> {
    if (this.unwinding) return [];
    this.unwinding = true;
    const errors: Error[] = [];
    try {
      while (this.entries.length > 0) {
        const entry = this.entries.pop()!;
        try {
          await entry.undo();
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          errors.push(
            new VmlaunchError(`undo ${entry.name}: ${reason}`, 'ROLLBACK_FAILED', { cause: error }),
          );
        }
      }
    } finally {
      this.unwinding = false;
    }
    return errors;
  }

  // Hands the registered inverses to a new owner (e.g. detach) and empties this stack.
  transfer(): UndoStack {
    const next = new UndoStack();
    next.entries = this.entries;
    this.entries = [];
    return next;
  }
}
