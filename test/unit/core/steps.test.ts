import { describe, expect, it } from 'vitest';
import {
  AbortError,
  RolledBackError,
  StepError,
  StepRunner,
  ValidationError,
  type Step,
} from '../../../core/index.js';

// A step list over a shared log: each step records that it ran and returns an undo that
// records its own name, so the order of both is visible.
function logged(names: string[], failAt?: string): { steps: Step<string[]>[]; log: string[] } {
  const log: string[] = [];
  const steps = names.map((name): Step<string[]> => ({
    name,
    run: (ran) => {
      if (name === failAt) throw new Error(`${name} broke`);
      ran.push(name);
      return () => void log.push(`undo ${name}`);
    },
  }));
  return { steps, log };
}

describe('StepRunner', () => {
  it('runs a list in order and keeps every undo for the owner', async () => {
    const { steps, log } = logged(['run-dir', 'spawn', 'qmp-connect']);
    const runner = new StepRunner();
    const ran: string[] = [];
    await runner.run(steps, ran);
    expect(ran).toEqual(['run-dir', 'spawn', 'qmp-connect']);
    expect(runner.undoNames).toEqual(['run-dir', 'spawn', 'qmp-connect']);
    expect(runner.current).toBe('qmp-connect');
    expect(log).toEqual([]);
    const teardown = runner.transfer();
    expect(runner.undoNames).toEqual([]);
    await teardown.unwind();
    expect(log).toEqual(['undo qmp-connect', 'undo spawn', 'undo run-dir']);
  });

  it('on a failure unwinds the steps before it in reverse and names the step', async () => {
    const { steps, log } = logged(['a', 'b', 'c', 'd'], 'c');
    const runner = new StepRunner();
    const error = await runner.run(steps, []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepError);
    expect(error).toBeInstanceOf(RolledBackError);
    expect(error).toMatchObject({
      step: 'c',
      code: 'STEP_FAILED',
      message: 'c: c broke',
      rollbackErrors: [],
    });
    expect((error as Error).cause).toEqual(new Error('c broke'));
    expect(log).toEqual(['undo b', 'undo a']);
    expect(runner.undoNames).toEqual([]);
  });

  it('undoes what a step registered before it failed', async () => {
    const log: string[] = [];
    const runner = new StepRunner();
    await runner.step('create veth', () => runner.push('delete veth', () => void log.push('veth')));
    const error = await runner
      .step('create tap', () => {
        runner.push('delete tap', () => void log.push('tap'));
        throw new ValidationError('tap.name', 'x', 'bad');
      })
      .catch((e: unknown) => e);
    // The cause's code carries through: a caller can tell a bad value from a kernel refusal.
    expect(error).toMatchObject({ step: 'create tap', code: 'VALIDATION' });
    expect(log).toEqual(['tap', 'veth']);
  });

  it('an already aborted signal runs no step at all and names the first', async () => {
    const reason = new Error('caller left');
    const { steps, log } = logged(['a', 'b']);
    const ran: string[] = [];
    const runner = new StepRunner({ signal: AbortSignal.abort(reason) });
    const error = (await runner.run(steps, ran).catch((e: unknown) => e)) as StepError;
    expect(ran).toEqual([]);
    expect(log).toEqual([]);
    expect(error).toBeInstanceOf(StepError);
    expect(error).toMatchObject({ step: 'a', code: 'ABORTED' });
    expect(error.cause).toBeInstanceOf(AbortError);
    expect((error.cause as Error).cause).toBe(reason);
  });

  it('an abort during a step is noticed before the next one, which is named; all is undone', async () => {
    const controller = new AbortController();
    const log: string[] = [];
    const ran: string[] = [];
    const step = (name: string, abort = false): Step<string[]> => ({
      name,
      run: (r) => {
        r.push(name);
        if (abort) controller.abort();
        return () => void log.push(`undo ${name}`);
      },
    });
    const runner = new StepRunner({ signal: controller.signal });
    const error = await runner
      .run([step('a'), step('b', true), step('c')], ran)
      .catch((e: unknown) => e);
    expect(ran).toEqual(['a', 'b']);
    expect(error).toMatchObject({ step: 'c', code: 'ABORTED' });
    expect(log).toEqual(['undo b', 'undo a']);
  });

  it('with checkAfterStep an abort during a step is named after that step; all is undone', async () => {
    const controller = new AbortController();
    const log: string[] = [];
    const ran: string[] = [];
    const step = (name: string, abort = false): Step<string[]> => ({
      name,
      run: (r) => {
        r.push(name);
        if (abort) controller.abort();
        return () => void log.push(`undo ${name}`);
      },
    });
    const runner = new StepRunner({ signal: controller.signal, checkAfterStep: true });
    const error = await runner
      .run([step('a'), step('b', true), step('c')], ran)
      .catch((e: unknown) => e);
    expect(ran).toEqual(['a', 'b']);
    expect(error).toMatchObject({ step: 'b', code: 'ABORTED' });
    expect(log).toEqual(['undo b', 'undo a']);
    // Not after the last step: the finished work is the caller's.
    const other = new AbortController();
    const tail = new StepRunner({ signal: other.signal, checkAfterStep: true });
    await tail.run([step('x'), { name: 'y', run: () => void other.abort() }], []);
    expect(tail.undoNames).toEqual(['x']);
  });

  it('an abort during the last step leaves the finished work to the caller', async () => {
    const controller = new AbortController();
    const runner = new StepRunner({ signal: controller.signal });
    await runner.run(
      [{ name: 'only', run: () => (controller.abort(), () => undefined) }],
      undefined,
    );
    expect(runner.undoNames).toEqual(['only']);
  });

  it('records the undo actions that failed, and still runs the others', async () => {
    const log: string[] = [];
    const runner = new StepRunner();
    const steps: Step<undefined>[] = [
      { name: 'a', run: () => () => void log.push('a') },
      {
        name: 'b',
        run: () => () => {
          throw new Error('EBUSY');
        },
      },
      { name: 'c', run: () => Promise.reject(new Error('EMFILE')) },
    ];
    const error = (await runner.run(steps, undefined).catch((e: unknown) => e)) as StepError;
    expect(error).toBeInstanceOf(StepError);
    expect(error.step).toBe('c');
    expect((error.cause as Error).message).toBe('EMFILE');
    expect(error.rollbackErrors.map((r) => r.message)).toEqual(['undo b: EBUSY']);
    expect(error.rollbackErrors[0]).toMatchObject({ code: 'ROLLBACK_FAILED' });
    expect(error.message).toBe('c: EMFILE; rollback also failed: undo b: EBUSY');
    expect(log).toEqual(['a']);
  });

  it('passes a nested run’s error through when nothing was left behind', async () => {
    const inner = new StepError('open tap', new Error('EEXIST'));
    const runner = new StepRunner();
    const error = await runner.step('attach', () => Promise.reject(inner)).catch((e: unknown) => e);
    expect(error).toBe(inner);
  });

  it('reports through the caller’s StepFailure, e.g. its own RolledBackError subclass', async () => {
    class LaunchLike extends RolledBackError {}
    const runner = new StepRunner({
      fail: (step, cause, rollbackErrors) =>
        new LaunchLike(`launch failed at ${step}`, 'LAUNCH', step, { cause, rollbackErrors }),
    });
    runner.push('kill', () => {
      throw new Error('ESRCH');
    });
    const error = await runner
      .step('spawn', () => {
        throw new Error('ENOENT');
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchLike);
    expect(error).toMatchObject({
      name: 'LaunchLike',
      step: 'spawn',
      code: 'LAUNCH',
      message: 'launch failed at spawn; rollback also failed: undo kill: ESRCH',
    });
  });
});
