import { describe, expect, it } from 'vitest';
import { MarkerSplitter } from '../../../launcher/marker-stream.js';

const ID = 'abc123def456';
const BEGIN = `__VML_BEGIN_${ID}__`;
const END = (n: number): string => `__VML_END_${ID}_${n}__`;

// Feeds `chunks` one by one; returns what came out per push and the status.
function feed(chunks: string[]): { pieces: string[]; status: number | undefined } {
  const splitter = new MarkerSplitter(ID);
  const pieces: string[] = [];
  let status: number | undefined;
  for (const chunk of chunks) {
    const r = splitter.push(chunk);
    pieces.push(r.output);
    if (r.status !== undefined) status = r.status;
  }
  return { pieces, status };
}

// Every way of cutting `text` into two chunks, and one character at a time.
function cuttings(text: string): string[][] {
  const out: string[][] = [[...text]];
  for (let i = 0; i <= text.length; i++) out.push([text.slice(0, i), text.slice(i)]);
  return out;
}

describe('MarkerSplitter', () => {
  const console =
    `echo noise\r\n${BEGIN}\r\nfirst line\r\nhalf __VML_END_ but not _ a marker __VML_END_${ID}_x\r\n` +
    `${END(7)}\r\nafter`;
  const expected = `first line\nhalf __VML_END_ but not _ a marker __VML_END_${ID}_x\n`;

  it('gives the text between the markers and the status, however the console is cut', () => {
    for (const chunks of cuttings(console)) {
      const { pieces, status } = feed(chunks);
      expect(pieces.join('')).toBe(expected);
      expect(status).toBe(7);
    }
  });

  it('holds back only a tail that could still become the end marker', () => {
    const bodyStart = console.indexOf(BEGIN) + BEGIN.length + 2;
    const endAt = console.indexOf(END(7));
    for (let i = bodyStart; i <= endAt; i++) {
      const first = new MarkerSplitter(ID).push(console.slice(0, i)).output;
      const seen = console.slice(bodyStart, i).replace(/\r/g, '');
      expect(seen.startsWith(first)).toBe(true);
      const held = seen.slice(first.length);
      expect(`__VML_END_${ID}_`.startsWith(held), `held back "${held}"`).toBe(true);
    }
  });

  it('streams: output before a possible marker start is handed on at once', () => {
    const splitter = new MarkerSplitter(ID);
    expect(splitter.push(`${BEGIN}\r\nhello\r\n`).output).toBe('hello\n');
    expect(splitter.push('world __VML_E').output).toBe('world ');
    expect(splitter.push('X more').output).toBe('__VML_EX more');
    expect(splitter.push(`__VML_END_${ID}_12`).output).toBe('');
    expect(splitter.push('3__ tail')).toEqual({ output: '', status: 123 });
    expect(splitter.done).toBe(true);
    expect(splitter.push('later').output).toBe('');
  });

  it('ignores everything before the begin marker, including an older end marker', () => {
    const { pieces, status } = feed([`${END(1)}\r\n`, `${BEGIN}\r\n`, 'x\r\n', END(0)]);
    expect(pieces.join('')).toBe('x\n');
    expect(status).toBe(0);
  });

  it('gives nothing for a command without output', () => {
    const { pieces, status } = feed([`${BEGIN}\r\n${END(0)}\r\n`]);
    expect(pieces.join('')).toBe('');
    expect(status).toBe(0);
  });
});
