// Splits a byte stream into lines with a size cap, so a peer cannot make us buffer forever.
import { ControlError } from './errors.js';

/** Feeds chunks, calls `onLine` for each complete line (without the newline). */
export class LineReader {
  private buffer = '';

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxBytes: number,
  ) {}

  // Adds a chunk; throws once a line grows beyond the cap.
  /** @throws ControlError (PROTOCOL) when a line exceeds the cap. */
  push(chunk: string): void {
    this.buffer += chunk;
    let newline = this.buffer.indexOf('\n');
    while (newline >= 0) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      if (line.trim() !== '') this.onLine(line);
      newline = this.buffer.indexOf('\n');
    }
    if (this.buffer.length > this.maxBytes)
      throw new ControlError('PROTOCOL', `a line longer than ${this.maxBytes} bytes`);
  }
}
