import { describe, expect, it } from 'vitest';
import { StepError, UndoStack } from '../../../network/undo.js';

describe('UndoStack', () => {
  it('undoes the steps done so far, newest first, when a step fails', async () => {
    const log: string[] = [];
    const stack = new UndoStack();
    await stack.step('create veth', () => stack.push('delete veth', () => void log.push('veth')));
    await stack.step('create tap', () => stack.push('delete tap', () => void log.push('tap')));
    const error = await stack
      .step('add qdisc', () => {
        throw new Error('EBUSY');
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepError);
    expect(error).toMatchObject({ step: 'add qdisc', message: 'add qdisc: EBUSY' });
    expect(log).toEqual(['tap', 'veth']);
    expect(stack.names).toEqual([]);
  });

  it('keeps the first error and attaches rollback failures to it', async () => {
    const stack = new UndoStack();
    stack.push('delete a', () => {
      throw new Error('ENODEV');
    });
    const ran: string[] = [];
    stack.push('delete b', () => void ran.push('b'));
    const error = (await stack
      .step('open fds', () => Promise.reject(new Error('EMFILE')))
      .catch((e: unknown) => e)) as StepError;
    expect((error.cause as Error).message).toBe('EMFILE');
    expect(error.rollbackErrors.map((e) => e.message)).toEqual(['undo delete a: ENODEV']);
    expect(ran).toEqual(['b']);
  });

  it('runs each undo only once even if unwound twice', async () => {
    let count = 0;
    const stack = new UndoStack();
    stack.push('x', () => void count++);
    await stack.unwind();
    await stack.unwind();
    expect(count).toBe(1);
  });

  it('transfers its undo actions to a new owner', async () => {
    const log: string[] = [];
    const stack = new UndoStack();
    stack.push('a', () => void log.push('a'));
    const owned = stack.transfer();
    await stack.unwind();
    expect(log).toEqual([]);
    await owned.unwind();
    expect(log).toEqual(['a']);
  });
});
