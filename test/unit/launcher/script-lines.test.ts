import { describe, expect, it } from 'vitest';
import { lineSplitter } from '../../../launcher/script-lines.js';

describe('lineSplitter', () => {
  it('hands on whole lines only, however the chunks cut them', () => {
    const lines: string[] = [];
    const split = lineSplitter((l) => lines.push(l));
    for (const chunk of [
      '[ 0.1] Command li',
      'ne: console=ttyS0\r',
      '\n[ 0.2] x',
      '86\n\n',
      'tail',
    ])
      split.push(chunk);
    expect(lines).toEqual(['[ 0.1] Command line: console=ttyS0', '[ 0.2] x86']);
    split.end();
    expect(lines.at(-1)).toBe('tail');
    split.end();
    expect(lines).toHaveLength(3);
  });

  it('takes Buffers and ends lines at \\r alone (progress redraws)', () => {
    const lines: string[] = [];
    const split = lineSplitter((l) => lines.push(l));
    split.push(Buffer.from('10%\r20%\rdone\n'));
    expect(lines).toEqual(['10%', '20%', 'done']);
  });
});
