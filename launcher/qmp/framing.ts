// QMP framing: one JSON value per line. QEMU ends lines with "\r\n" (seen on 7.2) and a read
// may hold half a line or several lines, so bytes are split here, not where they arrive.
import { StringDecoder } from 'node:string_decoder';
import { QmpProtocolError } from './errors.js';

/** Default cap on one line; a peer that never sends '\n' must not grow memory without bound. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

/** Splits a byte stream into lines, keeping any trailing partial line for the next chunk. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  // The unfinished line, as the pieces that arrived: only each new chunk is searched for '\n',
  // so a long line fed in many chunks costs time linear in its length, not quadratic.
  private pieces: string[] = [];
  private partialLength = 0;

  constructor(private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES) {}

  /**
   * Feeds one chunk; returns the complete, non-empty lines it finished, without '\r\n'.
   * @throws QmpProtocolError when a line grows past the cap.
   */
  push(chunk: Buffer | string): string[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const lines: string[] = [];
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      let line = text.slice(start, end);
      if (this.pieces.length > 0) {
        line = this.pieces.join('') + line;
        this.pieces = [];
        this.partialLength = 0;
      }
      if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
      if (line.length > 0) lines.push(line);
      start = end + 1;
    }
    if (start < text.length) {
      this.pieces.push(start === 0 ? text : text.slice(start));
      this.partialLength += text.length - start;
    }
    if (this.partialLength > this.maxLineBytes) {
      this.pieces = [];
      this.partialLength = 0;
      throw new QmpProtocolError(`QMP line longer than ${this.maxLineBytes} bytes`);
    }
    return lines;
  }
}
