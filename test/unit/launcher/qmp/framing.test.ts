import { describe, expect, it } from 'vitest';
import { QmpProtocolError } from '../../../../launcher/qmp/errors.js';
import { LineSplitter } from '../../../../launcher/qmp/framing.js';

describe('LineSplitter', () => {
  it('keeps a partial line until its end arrives', () => {
    const splitter = new LineSplitter();
    expect(splitter.push('{"return": ')).toEqual([]);
    expect(splitter.push('{}}\r\n')).toEqual(['{"return": {}}']);
  });

  it('returns every line of a chunk that holds several, without CR', () => {
    const splitter = new LineSplitter();
    expect(splitter.push('{"a":1}\r\n{"b":2}\n{"c"')).toEqual(['{"a":1}', '{"b":2}']);
    expect(splitter.push(':3}\r\n')).toEqual(['{"c":3}']);
  });

  it('skips empty lines', () => {
    expect(new LineSplitter().push('\r\n\n{"a":1}\n\n')).toEqual(['{"a":1}']);
  });

  it('joins a multi-byte character split between two chunks', () => {
    const bytes = Buffer.from('{"desc":"é"}\n', 'utf8');
    const splitter = new LineSplitter();
    expect(splitter.push(bytes.subarray(0, 10))).toEqual([]);
    expect(splitter.push(bytes.subarray(10))).toEqual(['{"desc":"é"}']);
  });

  it('refuses a line longer than its cap', () => {
    const splitter = new LineSplitter(16);
    expect(() => splitter.push('x'.repeat(17))).toThrow(QmpProtocolError);
  });
});
