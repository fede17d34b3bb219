// QMP framing: one JSON value per line. QEMU ends lines with "\r\n" (seen on 7.2) and a read
// may hold half a line or several lines, so bytes are split here, not where they arrive.
import { StringDecoder } from 'node:string_decoder';
import { QmpProtocolError } from './errors.js';

/** Default cap on one line; a peer that never sends '\n' must not grow memory without bound. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

/** Splits a byte stream into lines, keeping any trailing partial line for the next chunk. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES) {}

  /**
   * Feeds one chunk; returns the complete, non-empty lines it finished, without '\r\n'.
   * @throws QmpProtocolError when a line grows past the cap.
   */
  push(chunk: Buffer | string): string[] {
    const text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const lines: string[] = [];
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      const stop = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
      if (stop > start) lines.push(text.slice(start, stop));
      start = end + 1;
    }
    this.partial = start === 0 ? text : text.slice(start);
    if (this.partial.length > this.maxLineBytes) {
      this.partial = '';
      throw new QmpProtocolError(`QMP line longer than ${this.maxLineBytes} bytes`);
    }
    return lines;
  }
}
