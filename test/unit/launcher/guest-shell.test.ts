import { spawn, type ChildProcess } from 'node:child_process';
import { Duplex } from 'node:stream';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { SerialConsole } from '../../../launcher/console.js';
import { AbortError, TimeoutError } from '../../../core/index.js';
import { commandLine, GuestCommandError, GuestShell } from '../../../launcher/guest-shell.js';

// A local `sh` stands in for the guest's console shell (same framing, same base64 decoding).
// Both framings run here: a short one-line command of printable ASCII without a single quote
// goes quoted, any other base64-encoded.
let shell: ChildProcess | undefined;
function localConsole(noise = ''): SerialConsole {
  shell = spawn('sh', ['-i'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, PS1: '', PS2: '' },
  });
  const stream = Duplex.from({ readable: shell.stdout!, writable: shell.stdin! });
  const console = new SerialConsole(stream);
  if (noise) shell.stdin!.write(`echo '${noise}'\n`);
  return console;
}

afterEach(() => {
  shell?.kill('SIGKILL');
  shell = undefined;
});

describe('GuestShell', () => {
  it('returns a command output and exit status', async () => {
    const guest = new GuestShell(localConsole());
    await expect(guest.exec('echo hello; exit_code() { return 3; }; exit_code')).resolves.toEqual({
      output: 'hello\n',
      status: 3,
    });
  });

  it('keeps quotes, dollars and newlines intact', async () => {
    const guest = new GuestShell(localConsole());
    const result = await guest.exec("printf '%s|' \"a b\" '$HOME' 'x,y'\necho second line");
    expect(result).toEqual({ output: 'a b|$HOME|x,y|second line\n', status: 0 });
  });

  it('hands eval the same text whichever way the command travels', async () => {
    const guest = new GuestShell(localConsole());
    const printable = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i));
    // printf %s "<text>" with the four characters special inside double quotes escaped: the
    // command holds a single quote (base64) exactly when the text does.
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: fc.constantFrom(...printable, '\n') }), async (text) => {
        const escaped = text.replace(/[\\"$`]/g, '\\$&');
        const result = await guest.exec(`printf %s "${escaped}"`);
        expect(result).toEqual({ output: text, status: 0 });
      }),
      { numRuns: 200 },
    );
  });

  it('sends a short plain command quoted, anything else base64-encoded', () => {
    expect(commandLine('abc', 'ip neigh flush all')).toBe(
      'echo "__VML_B""EGIN_abc__"; command eval \'ip neigh flush all\' 2>&1 </dev/null; ' +
        'echo "__VML_E""ND_abc_$?__"\n',
    );
    for (const command of ["echo 'x'", 'echo a\necho b', 'echo \x03', `echo ${'x'.repeat(1100)}`]) {
      const line = commandLine('abc', command);
      expect(line).toContain('base64 -d');
      expect(line).not.toContain(command);
    }
  });

  it('answers a command that is not valid shell with a status, and takes the next one', async () => {
    const guest = new GuestShell(localConsole());
    for (const broken of ['if true', 'echo "unclosed', "case x in\n'"]) {
      expect((await guest.exec(broken)).status).toBe(2);
      expect(await guest.exec('echo next')).toEqual({ output: 'next\n', status: 0 });
    }
  });

  it('captures stderr with stdout', async () => {
    const guest = new GuestShell(localConsole());
    expect((await guest.exec('echo oops >&2')).output).toBe('oops\n');
  });

  it('is not confused by console noise that looks like an earlier marker', async () => {
    const guest = new GuestShell(localConsole('__VML_END_000000000000_0__ kernel noise'));
    expect(await guest.exec('echo ok')).toEqual({ output: 'ok\n', status: 0 });
  });

  it('runs concurrent calls one after the other, each with its own output', async () => {
    const guest = new GuestShell(localConsole());
    const results = await Promise.all([1, 2, 3, 4].map((n) => guest.exec(`echo ${n}`)));
    expect(results.map((r) => r.output)).toEqual(['1\n', '2\n', '3\n', '4\n']);
  });

  it('check() throws GuestCommandError on a non-zero status', async () => {
    const guest = new GuestShell(localConsole());
    await expect(guest.check('false')).rejects.toBeInstanceOf(GuestCommandError);
    await expect(guest.check('echo fine')).resolves.toBe('fine\n');
  });

  it('rejects (without unhandled rejections) when the console has already closed', async () => {
    const console = localConsole();
    await console.close();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(new GuestShell(console).exec('echo hi')).rejects.toThrow(/closed/);
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('times out a command that never finishes', async () => {
    const guest = new GuestShell(localConsole());
    await expect(guest.exec('sleep 5', { timeout: 200 })).rejects.toBeInstanceOf(TimeoutError);
  });

  it('stream() hands output on as it comes, before the command ends', async () => {
    const guest = new GuestShell(localConsole());
    const started = performance.now();
    const chunks: Array<{ at: number; text: string }> = [];
    const status = await guest.stream(
      'echo first; sleep 1; echo second; exit_code() { return 5; }; exit_code',
      {
        onOutput: (text) => chunks.push({ at: performance.now() - started, text }),
      },
    );
    const ended = performance.now() - started;
    expect(status).toBe(5);
    expect(chunks.map((c) => c.text).join('')).toBe('first\nsecond\n');
    expect(chunks[0]!.text).toBe('first\n');
    expect(chunks[0]!.at).toBeLessThan(ended - 700);
  });

  it('stream() carries a command far longer than a tty line', async () => {
    const guest = new GuestShell(localConsole());
    const long = 'x'.repeat(20_000);
    let out = '';
    const status = await guest.stream(`printf '%s' '${long}' | wc -c`, {
      onOutput: (text) => (out += text),
    });
    expect({ status, out: out.trim() }).toEqual({ status: 0, out: '20000' });
  });

  it('stream() rejects on its deadline and on abort', async () => {
    const guest = new GuestShell(localConsole());
    const onOutput = (): void => undefined;
    await expect(guest.stream('sleep 5', { onOutput, timeout: 200 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(
      guest.stream('sleep 5', { onOutput, signal: controller.signal }),
    ).rejects.toBeInstanceOf(AbortError);
  });

  it('stream() rejects when the console closes mid-command', async () => {
    const console = localConsole();
    const guest = new GuestShell(console);
    setTimeout(() => void console.close(), 100);
    await expect(guest.stream('sleep 5', { onOutput: () => undefined })).rejects.toThrow(/closed/);
  });
});
