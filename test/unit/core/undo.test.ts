import { describe, expect, it } from 'vitest';
import { UndoStack, VmlaunchError } from '../../../core/index.js';

describe('UndoStack', () => {
  it('runs the inverses newest first and empties itself', async () => {
    const log: string[] = [];
    const stack = new UndoStack();
    stack.push('delete veth', () => void log.push('veth'));
    stack.push('delete tap', () => Promise.resolve(void log.push('tap')));
    expect(stack.names).toEqual(['delete veth', 'delete tap']);
    expect(await stack.unwind()).toEqual([]);
    expect(log).toEqual(['tap', 'veth']);
    expect(stack.names).toEqual([]);
  });

  it('keeps going past a failing inverse and reports it as ROLLBACK_FAILED with its cause', async () => {
    const stack = new UndoStack();
    const ran: string[] = [];
    const enodev = new Error('ENODEV');
    stack.push('delete a', () => {
      throw enodev;
    });
    stack.push('delete b', () => void ran.push('b'));
    const errors = await stack.unwind();
    expect(ran).toEqual(['b']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(VmlaunchError);
    expect(errors[0]).toMatchObject({ code: 'ROLLBACK_FAILED', message: 'undo delete a: ENODEV' });
    expect(errors[0]!.cause).toBe(enodev);
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
