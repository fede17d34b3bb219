// Copies the data ranges of one file into another at the same offsets, through libuv's thread
// pool (the JS thread only hands out chunks): a sparse RAM image into its pre-sized private
// copy while QEMU starts. Holes are never written, so they stay holes.
import { read, write } from 'node:fs';
import { promisify } from 'node:util';

const readAt = promisify(read);
const writeAt = promisify(write);

const CHUNK = 1 << 20;
// libuv's default pool size: more chunks in flight would only queue.
const IN_FLIGHT = 4;

/** A copy under way: `done` settles once it has ended; `stop()` ends it early and waits. */
export interface RangeCopy {
  done: Promise<void>;
  stop(): Promise<void>;
}

// Starts copying `ranges` ([offset, length]) of `from` into `to`; neither fd is closed here.
export function copyRanges(from: number, to: number, ranges: Array<[number, number]>): RangeCopy {
  const chunks: Array<[number, number]> = [];
  for (const [offset, length] of ranges) {
    for (let at = offset; at < offset + length; at += CHUNK) {
      chunks.push([at, Math.min(CHUNK, offset + length - at)]);
    }
  }
  let stopped = false;
  let next = 0;
  const lane = async (): Promise<void> => {
    const buffer = Buffer.allocUnsafe(CHUNK);
    while (!stopped && next < chunks.length) {
      const [at, length] = chunks[next++]!;
      let done = 0;
      while (done < length) {
        const { bytesRead } = await readAt(from, buffer, done, length - done, at + done);
        if (bytesRead === 0) throw new Error(`the image ended at ${at + done}, inside its data`);
        done += bytesRead;
      }
      for (let written = 0; written < length;) {
        const { bytesWritten } = await writeAt(to, buffer, written, length - written, at + written);
        written += bytesWritten;
      }
    }
  };
  const lanes = Array.from({ length: Math.min(IN_FLIGHT, chunks.length) }, lane);
  const done = Promise.all(lanes).then(
    () => undefined,
    async (error: unknown) => {
      // One lane failed: the others stop after their chunk, and only then is it reported, so no
      // read or write is still pending on the fds when the caller closes them.
      stopped = true;
      await Promise.allSettled(lanes);
      throw error;
    },
  );
  return {
    done,
    async stop() {
      stopped = true;
      await done.catch(() => undefined);
    },
  };
}
