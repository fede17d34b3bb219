// The CLI's live status line: drawn in place on a terminal, nothing at all on a pipe or file,
// and the Progress steps that drive it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Progress } from '../../../../launcher/cli/progress.js';
import { StatusLine, type StatusStream } from '../../../../launcher/cli/status-line.js';

// A stream that records what is written to it.
function fakeStream(isTTY: boolean, columns = 80): StatusStream & { written: string[] } {
  const written: string[] = [];
  return { isTTY, columns, written, write: (text: string) => written.push(text) };
}

const CLEAR = '\r\x1b[2K';

afterEach(() => vi.useRealTimers());

describe('StatusLine on a terminal', () => {
  it('draws the step with a spinner and its elapsed seconds, redrawn in place, and erases it', () => {
    vi.useFakeTimers();
    let now = 0;
    const stream = fakeStream(true);
    const status = new StatusLine(stream, 100, () => now);
    status.start('building the default guest');
    expect(stream.written).toEqual([`${CLEAR}⠋ building the default guest (0 s)`]);
    now = 2500;
    vi.advanceTimersByTime(100);
    expect(stream.written.at(-1)).toBe(`${CLEAR}⠙ building the default guest (2 s)`);
    status.log('vmlaunch guest: apt-get update\n');
    expect(stream.written.at(-1)).toBe(
      `${CLEAR}⠹ building the default guest (2 s) — vmlaunch guest: apt-get update`,
    );
    status.stop();
    expect(stream.written.at(-1)).toBe(CLEAR);
    const count = stream.written.length;
    vi.advanceTimersByTime(1000);
    expect(stream.written.length).toBe(count);
  });

  it('shows the last non-empty line of a chunk, without control characters', () => {
    const stream = fakeStream(true);
    const status = new StatusLine(stream, 100, () => 0);
    status.start('booting');
    status.log('[    0.1] first\r\n\x1b[1m[    0.2] second\x1b[0m\r\n\r\n');
    expect(stream.written.at(-1)).toBe(`${CLEAR}⠙ booting (0 s) — [    0.2] second`);
    status.log('\n\n');
    expect(stream.written.length).toBe(2);
    status.stop();
  });

  it('cuts the line to the terminal width so it never wraps', () => {
    const stream = fakeStream(true, 20);
    const status = new StatusLine(stream, 100, () => 0);
    status.start('a very long step name indeed');
    const line = stream.written[0]!.slice(CLEAR.length);
    expect([...line]).toHaveLength(19);
    expect(line.endsWith('…')).toBe(true);
    status.stop();
  });

  it('erases the line when the step fails, and passes the error on', async () => {
    const stream = fakeStream(true);
    const status = new StatusLine(stream, 100, () => 0);
    await expect(
      status.run('step', (log) => {
        log('half way');
        return Promise.reject(new Error('boom'));
      }),
    ).rejects.toThrow('boom');
    expect(stream.written.at(-2)).toBe(`${CLEAR}⠙ step (0 s) — half way`);
    expect(stream.written.at(-1)).toBe(CLEAR);
  });
});

describe('StatusLine elsewhere', () => {
  it.each([
    ['a pipe or file (isTTY false)', false],
    ['a stream that does not say (isTTY undefined)', undefined],
  ])('writes nothing to %s', async (_, isTTY) => {
    vi.useFakeTimers();
    const written: string[] = [];
    const stream: StatusStream = { isTTY, write: (text: string) => written.push(text) };
    const status = new StatusLine(stream);
    expect(status.enabled).toBe(false);
    const result = await status.run('building', (log) => {
      log('a line');
      vi.advanceTimersByTime(5000);
      return Promise.resolve(42);
    });
    expect(result).toBe(42);
    expect(written).toEqual([]);
  });
});

describe('Progress', () => {
  it('runs each step under the status line and prints its result line after erasing it', async () => {
    const events: string[] = [];
    const stream: StatusStream = { isTTY: true, write: (t: string) => events.push(`err:${t}`) };
    const progress = new Progress(
      (line) => events.push(`out:${line}`),
      new StatusLine(stream, 100, () => 0),
    );
    const value = await progress.step(
      'guest ready',
      (log) => {
        log('vmlaunch guest: cache hit');
        return Promise.resolve('cached');
      },
      (v) => v,
    );
    expect(value).toBe('cached');
    expect(events[0]).toBe(`err:${CLEAR}⠋ guest ready (0 s)`);
    expect(events[1]).toBe(`err:${CLEAR}⠙ guest ready (0 s) — vmlaunch guest: cache hit`);
    expect(events[2]).toBe(`err:${CLEAR}`);
    expect(events[3]).toMatch(/^out: {2}✓ guest ready \(\d+ ms\) — cached$/);
    expect(progress.steps.map((s) => [s.name, s.ok])).toEqual([['guest ready', true]]);
  });

  it('prints only result lines when stderr is not a terminal', async () => {
    const events: string[] = [];
    const stream: StatusStream = { isTTY: false, write: (t: string) => events.push(`err:${t}`) };
    const progress = new Progress((line) => events.push(`out:${line}`), new StatusLine(stream));
    await expect(
      progress.step('fails', (log) => {
        log('why');
        return Promise.reject(new Error('no'));
      }),
    ).rejects.toThrow('no');
    expect(events).toEqual([expect.stringMatching(/^out: {2}✗ fails \(\d+ ms\)$/)]);
  });
});
