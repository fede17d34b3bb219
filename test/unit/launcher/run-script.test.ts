// The guest script runs under the host's sh here (the same POSIX sh, dd and base64 -w 0 the
// default guest's busybox has); its frames are decoded as runInVm decodes them.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildRunScript,
  FrameDecoder,
  RUN_SETUP_FAILED,
  type OutputStream,
  type RunScriptOptions,
} from '../../../launcher/run-script.js';

interface Ran {
  status: number;
  stdout: string;
  stderr: string;
  other: string[];
  bytes: Buffer;
}

// Runs the script with sh and decodes its frames.
function run(options: Omit<RunScriptOptions, 'tag'>): Promise<Ran> {
  const tag = `t${randomBytes(4).toString('hex')}`;
  const script = buildRunScript({ ...options, tag });
  return new Promise((resolve) => {
    execFile('sh', ['-c', script], (error, stdout) => {
      const out: Record<OutputStream, Buffer[]> = { stdout: [], stderr: [] };
      const other: string[] = [];
      const decoder = new FrameDecoder(
        tag,
        (c, s) => out[s].push(c),
        (l) => other.push(l),
      );
      decoder.push(stdout);
      decoder.end();
      resolve({
        status: error ? Number(error.code) : 0,
        stdout: Buffer.concat(out.stdout).toString(),
        stderr: Buffer.concat(out.stderr).toString(),
        other,
        bytes: Buffer.concat(out.stdout),
      });
    });
  });
}

describe('buildRunScript + FrameDecoder', () => {
  it('keeps stdout and stderr apart and returns the exit status', async () => {
    const r = await run({ command: ['sh', '-c', 'echo out; echo err >&2; exit 7'] });
    expect(r).toMatchObject({ status: 7, stdout: 'out\n', stderr: 'err\n', other: [] });
  });

  it('keeps argument boundaries: spaces, empty, quotes, newlines, unicode, $ and globs', async () => {
    const args = ['a b', '', "it's", 'x"y', 'two\nlines', 'ünïcødé ✓', '$HOME', '*', '\\n', '-n'];
    const r = await run({ command: ['printf', '<%s>\\n', ...args] });
    expect(r.stdout).toBe(args.map((a) => `<${a}>\n`).join(''));
    expect(r.status).toBe(0);
  });

  it('carries binary output and carriage returns byte for byte', async () => {
    const r = await run({ command: ['printf', 'a\\r\\nb\\000c\\377'] });
    expect(r.bytes).toEqual(Buffer.from([0x61, 0x0d, 0x0a, 0x62, 0x00, 0x63, 0xff]));
  });

  it('reports a signal death as 128+n, like a shell', async () => {
    const r = await run({ command: ['sh', '-c', 'kill -TERM $$'] });
    expect(r.status).toBe(128 + 15);
  });

  it('sets the working directory and environment', async () => {
    const r = await run({
      command: ['sh', '-c', 'pwd; printf "%s|" "$A" "$B_2"'],
      cwd: '/usr',
      env: { A: "x y 'z'", B_2: '' },
    });
    expect(r.stdout).toBe("/usr\nx y 'z'||");
  });

  it('exits 125 when the working directory does not exist, saying why on stderr', async () => {
    const r = await run({ command: ['true'], cwd: '/no/such/dir' });
    expect(r.status).toBe(RUN_SETUP_FAILED);
    expect(r.stderr).toMatch(/no\/such\/dir/);
  });

  it('gives 127 for a command that does not exist', async () => {
    const r = await run({ command: ['no-such-command-here'] });
    expect(r.status).toBe(127);
    expect(r.stderr).toMatch(/not found/);
  });

  it('streams more than one frame in order', async () => {
    const r = await run({ command: ['sh', '-c', 'seq 1 5000'] });
    expect(r.stdout).toBe(Array.from({ length: 5000 }, (_, i) => `${i + 1}\n`).join(''));
  });

  it('refuses an empty command and a bad env name', () => {
    expect(() => buildRunScript({ command: [], tag: 't' })).toThrow(/needs a command/);
    expect(() => buildRunScript({ command: ['true'], env: { 'A-B': '1' }, tag: 't' })).toThrow(
      /A-B/,
    );
  });

  it('FrameDecoder decodes frames split anywhere and passes other lines on', () => {
    const got: string[] = [];
    const other: string[] = [];
    const d = new FrameDecoder(
      'tg',
      (c, s) => got.push(`${s}:${c.toString()}`),
      (l) => other.push(l),
    );
    const text = `noise\r\ntgO ${Buffer.from('hi\n').toString('base64')}\r\ntgE ${Buffer.from('oops').toString('base64')}\r\n`;
    for (const ch of text) d.push(ch);
    d.end();
    expect(got).toEqual(['stdout:hi\n', 'stderr:oops']);
    expect(other).toEqual(['noise']);
  });
});
