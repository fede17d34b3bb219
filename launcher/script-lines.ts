// The lines a build script writes to a stream, handed to a caller's callback as they come (the
// library prints nothing itself; the CLI shows them on its status line).
import type { Readable } from 'node:stream';

// Calls `onLine` with each non-empty line of `stream` (text chunks; '\n', '\r\n' or '\r' end a
// line), the last unterminated one included when the stream ends.
export function forwardLines(stream: Readable | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let pending = '';
  stream.on('data', (chunk: string | Buffer) => {
    const lines = (pending + chunk.toString()).split(/\r\n|\n|\r/);
    pending = lines.pop() ?? '';
    for (const line of lines) if (line !== '') onLine(line);
  });
  stream.on('end', () => {
    if (pending !== '') onLine(pending);
    pending = '';
  });
}
