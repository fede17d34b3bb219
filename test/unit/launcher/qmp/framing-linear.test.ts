import { afterEach, describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../../launcher/qmp/framing.js';

// Counts the characters that String#indexOf examines: the work the splitter (which searches
// the decoded text) does looking for '\n'. Deterministic, unlike wall time on a shared machine.
let scanned = 0;
// eslint-disable-next-line @typescript-eslint/unbound-method
const stringIndexOf = String.prototype.indexOf;
function countScans(): void {
  String.prototype.indexOf = function (this: string, search: string, from?: number): number {
    const at = stringIndexOf.call(this, search, from);
    scanned += (at === -1 ? this.length : at + 1) - Math.max(0, from ?? 0);
    return at;
  };
}
afterEach(() => {
  String.prototype.indexOf = stringIndexOf;
});

// Feeds one line of `bytes` bytes in 1 KiB chunks and returns the characters scanned.
function scanOneLine(bytes: number): number {
  const splitter = new LineSplitter(64 * 1024 * 1024);
  const chunk = Buffer.alloc(1024, 'x');
  scanned = 0;
  countScans();
  let lines: string[] = [];
  for (let sent = 0; sent < bytes; sent += chunk.length) lines = splitter.push(chunk);
  lines = splitter.push(Buffer.from('\r\n'));
  String.prototype.indexOf = stringIndexOf;
  expect(lines).toHaveLength(1);
  expect(lines[0]).toHaveLength(bytes);
  return scanned;
}

describe('LineSplitter work', () => {
  it('scans a multi-MB line fed in 1 KiB chunks a bounded number of times per byte (linear)', () => {
    const small = scanOneLine(2 * 1024 * 1024);
    const large = scanOneLine(4 * 1024 * 1024);
    // Each byte is looked at a small constant number of times, whatever the line's length.
    expect(small).toBeLessThanOrEqual(2 * 2 * 1024 * 1024 + 16);
    expect(large / small).toBeLessThan(2.1);
  });
});
