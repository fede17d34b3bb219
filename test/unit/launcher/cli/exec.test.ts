// `vmlaunch exec NAME -- WORDS`: several words are an argv whose boundaries survive the guest's
// shell; one word is a shell command line. The control call is stubbed and the command it
// would send is run by a real sh (test/e2e/cli/run-control.test.ts does the same in a guest).
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { execCommand } from '../../../../launcher/cli/exec.js';
import { controlCalls } from '../../../../launcher/control/client.js';

afterEach(() => vi.restoreAllMocks());

// The command line exec sends for `argv`, as the guest's shell gets it.
async function sent(argv: string[]): Promise<string> {
  const exec = vi.spyOn(controlCalls, 'exec').mockResolvedValue({ output: '', status: 0 });
  vi.spyOn(process.stdout, 'write').mockReturnValue(true);
  expect(await execCommand(argv)).toBe(0);
  expect(exec).toHaveBeenCalledTimes(1);
  expect(exec.mock.calls[0]![0]).toBe('vm1');
  return exec.mock.calls[0]![1];
}

describe('vmlaunch exec', () => {
  it('keeps the boundaries of several words (spaces, empty words, quotes, $)', async () => {
    const words = ['a b', '', "it's", 'x"y', '$HOME', 'c\nd', '*'];
    const command = await sent(['vm1', '--', 'printf', '<%s>', ...words]);
    expect(execFileSync('sh', ['-c', command], { encoding: 'utf8' })).toBe(
      words.map((w) => `<${w}>`).join(''),
    );
  });

  it('passes one word on as a shell command line', async () => {
    const command = await sent(['vm1', '--', 'echo a  b | wc -w']);
    expect(command).toBe('echo a  b | wc -w');
    expect(execFileSync('sh', ['-c', command], { encoding: 'utf8' }).trim()).toBe('2');
  });
});
