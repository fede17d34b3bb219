// The console log is a file root writes: opened without following a symlink, created 0600,
// only ever a regular file, capped in size, and never an unbounded queue in memory.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Duplex } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SerialConsole } from '../../../launcher/console.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vml-console-log-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

// A console whose guest side the test feeds synchronously.
function consoleWith(options: ConstructorParameters<typeof SerialConsole>[1]) {
  const fromGuest = new PassThrough();
  const stream = Duplex.from({ readable: fromGuest, writable: new PassThrough() });
  const console = new SerialConsole(stream, options);
  return { console, say: (text: string) => stream.emit('data', text) };
}

describe('console log file', () => {
  it('refuses a symlink at the path with a typed error and leaves its target alone', () => {
    const target = join(dir, 'target');
    writeFileSync(target, 'precious\n');
    const link = join(dir, 'console.log');
    symlinkSync(target, link);
    expect(() => consoleWith({ logFile: link })).toThrow(
      expect.objectContaining({ code: 'CONSOLE_LOG_UNSAFE' }),
    );
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
  });

  it('refuses a FIFO at the path without blocking on it', () => {
    const fifo = join(dir, 'console.log');
    execFileSync('mkfifo', [fifo]);
    expect(() => consoleWith({ logFile: fifo })).toThrow(
      expect.objectContaining({ code: 'CONSOLE_LOG_UNSAFE' }),
    );
  });

  it('creates the file with mode 0600 whatever the umask', async () => {
    const path = join(dir, 'console.log');
    const old = process.umask(0);
    try {
      const { console, say } = consoleWith({ logFile: path });
      say('hello\n');
      await console.close();
    } finally {
      process.umask(old);
    }
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe('hello\n');
  });

  it('stops at its size cap and says so in the file', async () => {
    const path = join(dir, 'console.log');
    const { console, say } = consoleWith({ logFile: path, logMaxBytes: 4096 });
    for (let i = 0; i < 100; i++) say(`${'x'.repeat(99)}\n`);
    await console.close();
    const text = readFileSync(path, 'utf8');
    expect(text.length).toBeLessThanOrEqual(4096 + 200);
    expect(text).toMatch(/console log reached its cap of 4096 bytes/);
  });

  it('does not queue without bound when the guest prints faster than the file takes it', async () => {
    const path = join(dir, 'console.log');
    const { console, say } = consoleWith({ logFile: path, logMaxBytes: 1 << 30 });
    const chunk = 'y'.repeat(64 * 1024);
    const before = process.memoryUsage().arrayBuffers;
    // 128 MiB in one synchronous burst: no write can complete in between.
    for (let i = 0; i < 2048; i++) say(chunk);
    const grown = process.memoryUsage().arrayBuffers - before;
    await console.close();
    expect(grown).toBeLessThan(32 * 1024 * 1024);
    expect(readFileSync(path, 'utf8')).toMatch(/bytes of console output were not logged/);
  });
});
