import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { formatShellCommand, quoteShellArg } from '../../../launcher/shell-quote.js';

describe('shell quoting', () => {
  it('leaves safe words alone and single-quotes the rest', () => {
    expect(quoteShellArg('tap,id=n0,fd=3')).toBe('tap,id=n0,fd=3');
    expect(quoteShellArg('a b')).toBe("'a b'");
    expect(quoteShellArg("it's")).toBe(`'it'\\''s'`);
    expect(quoteShellArg('')).toBe("''");
  });

  it('round-trips through a real sh', () => {
    const argv = ['a b', "c'd", '$(echo x)', '`y`', 'e\\f', '*', '', 'path=/a,,b', '!x', '"q"'];
    const script = `for a in ${formatShellCommand(argv)}; do printf '%s\\0' "$a"; done`;
    const out = execFileSync('sh', ['-c', script]).toString('utf8');
    expect(out.split('\0').slice(0, -1)).toEqual(argv);
  });
});
