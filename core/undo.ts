// The undo stack behind every multi-step operation: each step that creates something registers
// its inverse; on failure (or at teardown) the inverses run once, in reverse, and the ones that
// fail are collected, never allowed to stop the others.
import { reasonOf, VmlaunchError } from './errors.js';

/** The inverse of something a step made: deletes it, closes it, puts it back. */
export type Undo = () => void | Promise<void>;

interface UndoEntry {
  name: string;
  undo: Undo;
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
  /** Pushes `undo` under `name` (the name is what a rollback failure is reported as). */
  push(name: string, undo: Undo): void {
    this.entries.push({ name, undo });
  }

  // Later actions still run when one fails: a leftover is reported, not multiplied.
  /**
   * Runs every undo action once, newest first, and empties the stack. Returns the failures,
   * each a VmlaunchError coded ROLLBACK_FAILED ("undo <name>: reason", cause: what it threw).
   */
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
          errors.push(
            new VmlaunchError(`undo ${entry.name}: ${reasonOf(error)}`, 'ROLLBACK_FAILED', {
              cause: error,
            }),
          );
        }
      }
    } finally {
      this.unwinding = false;
    }
    return errors;
  }

  // What a finished operation made is torn down later by its owner (detach, VM shutdown).
  /** Hands the registered inverses to a new stack and empties this one. */
  transfer(): UndoStack {
    const next = new UndoStack();
    next.entries = this.entries;
    this.entries = [];
    return next;
  }
}
