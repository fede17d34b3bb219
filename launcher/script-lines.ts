// Text that arrives in chunks (a build script's stderr, a guest's console), handed on line by
// line as it comes (the library prints nothing itself; the CLI shows lines on its status line).
import type { Readable } from 'node:stream';

// A chunk sink that calls `onLine` with each complete non-empty line ('\n', '\r\n' or '\r' end
// one); end() hands on the last unterminated line.
export function lineSplitter(onLine: (line: string) => void): {
  push(chunk: string | Buffer): void;
  end(): void;
} {
  let pending = '';
  return {
    push(chunk) {
      const lines = (pending + chunk.toString()).split(/\r\n|\n|\r/);
      pending = lines.pop() ?? '';
      for (const line of lines) if (line !== '') onLine(line);
    },
    end() {
      if (pending !== '') onLine(pending);
      pending = '';
    },
  };
}

// Calls `onLine` with each non-empty line of `stream` (text chunks), the last unterminated one
// included when the stream ends.
export function forwardLines(stream: Readable | null, onLine: (line: string) => void): void {
  if (!stream) return;
  const lines = lineSplitter(onLine);
  stream.on('data', (chunk: string | Buffer) => lines.push(chunk));
  stream.on('end', () => lines.end());
}
