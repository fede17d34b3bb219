import { PassThrough, Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConsoleClosedError, SerialConsole } from '../../../launcher/console.js';
import { AbortError, TimeoutError } from '../../../core/index.js';
import { TextRing } from '../../../launcher/ring-buffer.js';

// A duplex whose readable side the test feeds and whose writable side the test reads.
function fakeSerial(): { stream: Duplex; guestSays: (text: string) => void; written: string[] } {
  const fromGuest = new PassThrough();
  const written: string[] = [];
  const stream = Duplex.from({
    readable: fromGuest,
    writable: new PassThrough().on('data', (chunk: Buffer) => written.push(chunk.toString())),
  });
  return { stream, guestSays: (text) => fromGuest.write(text), written };
}

describe('TextRing', () => {
  it('keeps only the newest characters but counts absolute offsets', () => {
    const ring = new TextRing(5);
    ring.append('abc');
    ring.append('defg');
    expect(ring.end).toBe(7);
    expect(ring.tail(10)).toBe('cdefg');
    expect(ring.since(0)).toEqual({ text: 'cdefg', start: 2 });
    expect(ring.since(5)).toEqual({ text: 'fg', start: 5 });
  });
});

describe('SerialConsole', () => {
  it('finds a pattern that arrived before the wait began', async () => {
    const { stream, guestSays } = fakeSerial();
    const console = new SerialConsole(stream);
    guestSays('booting\nREADY 42\n');
    await new Promise((r) => setImmediate(r));
    const match = await console.waitFor(/READY (\d+)/, { timeout: 1000 });
    expect(match.groups).toEqual(['42']);
    expect(match.index).toBe('booting\n'.length);
  });

  it('finds a pattern split across chunks and only after the given mark', async () => {
    const { stream, guestSays } = fakeSerial();
    const console = new SerialConsole(stream);
    guestSays('marker one\n');
    await new Promise((r) => setImmediate(r));
    const mark = console.mark();
    const waiting = console.waitFor('marker', { from: mark, timeout: 1000 });
    guestSays('mar');
    guestSays('ker two\n');
    const match = await waiting;
    expect(match.index).toBe(mark);
  });

  it('treats a literal string as text, not as a regular expression', async () => {
    const { stream, guestSays } = fakeSerial();
    const console = new SerialConsole(stream);
    guestSays('cost: $5 (approx.)');
    await expect(console.waitFor('$5 (approx.)', { timeout: 1000 })).resolves.toMatchObject({
      text: '$5 (approx.)',
    });
  });

  it('times out with the console tail in the error', async () => {
    const { stream, guestSays } = fakeSerial();
    const console = new SerialConsole(stream);
    guestSays('kernel panic - not syncing\n');
    const error = await console.waitFor('login:', { timeout: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toContain('kernel panic');
  });

  it('rejects waiters when aborted', async () => {
    const { stream } = fakeSerial();
    const console = new SerialConsole(stream);
    const controller = new AbortController();
    const waiting = console.waitFor('never', { signal: controller.signal, timeout: 5000 });
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
  });

  it('rejects waiters when the console closes, and later waits fail at once', async () => {
    const { stream } = fakeSerial();
    const console = new SerialConsole(stream);
    const waiting = console.waitFor('never', { timeout: 5000 });
    stream.destroy();
    await expect(waiting).rejects.toBeInstanceOf(ConsoleClosedError);
    await expect(console.waitFor('x', { timeout: 5000 })).rejects.toBeInstanceOf(
      ConsoleClosedError,
    );
  });

  it('refuses a log file it cannot open with a typed error, at once', () => {
    const { stream } = fakeSerial();
    const open = () => new SerialConsole(stream, { logFile: '/nonexistent-dir/console.log' });
    expect(open).toThrow(expect.objectContaining({ code: 'CONSOLE_LOG_UNSAFE' }));
    expect(open).toThrow(/ENOENT/);
  });

  it('writes to the guest', async () => {
    const { stream, written } = fakeSerial();
    const console = new SerialConsole(stream);
    await console.write('uname -a\n');
    expect(written.join('')).toBe('uname -a\n');
  });
});
