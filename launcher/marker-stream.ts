// Splits a live console stream into a command's output as it arrives: the text after a begin
// marker, up to an end marker that carries the exit status. Text that could be the start of
// the end marker is held back until it is known not to be one, so no caller ever sees part of
// a marker.

/** What one push produced: output that is safe to hand on, and the status once the end came. */
export interface MarkerPush {
  output: string;
  status?: number;
}

/** Longest exit status the end marker carries (a shell status is 0..255). */
const MAX_STATUS_DIGITS = 3;

/** Console text -> command output between `__VML_BEGIN_<id>__` and `__VML_END_<id>_<n>__`. */
export class MarkerSplitter {
  private readonly begin: string;
  private readonly endPrefix: string;
  private readonly end: RegExp;
  private buffer = '';
  private state: 'before' | 'first' | 'body' | 'done' = 'before';

  constructor(id: string) {
    this.begin = `__VML_BEGIN_${id}__`;
    this.endPrefix = `__VML_END_${id}_`;
    this.end = new RegExp(`__VML_END_${id}_(\\d{1,${MAX_STATUS_DIGITS}})__`);
  }

  /** True once the end marker has been seen. */
  get done(): boolean {
    return this.state === 'done';
  }

  // Feeds console text; returns the output now known to be the command's (carriage returns
  // dropped, as the guest's tty adds them) and the status once the end marker arrived.
  push(chunk: string): MarkerPush {
    if (this.state === 'done') return { output: '' };
    this.buffer += chunk.replace(/\r/g, '');
    if (this.state === 'before') {
      const at = this.buffer.indexOf(this.begin);
      if (at < 0) {
        // Keep only what could still be the start of the begin marker.
        this.buffer = this.buffer.slice(-(this.begin.length - 1));
        return { output: '' };
      }
      this.buffer = this.buffer.slice(at + this.begin.length);
      this.state = 'first';
    }
    if (this.state === 'first') {
      // The newline that ends the begin marker's own line is not output.
      if (this.buffer === '') return { output: '' };
      if (this.buffer.startsWith('\n')) this.buffer = this.buffer.slice(1);
      this.state = 'body';
    }
    const found = this.end.exec(this.buffer);
    if (found) {
      const output = this.buffer.slice(0, found.index);
      this.buffer = '';
      this.state = 'done';
      return { output, status: Number(found[1]) };
    }
    const keep = this.holdBackFrom();
    const output = this.buffer.slice(0, keep);
    this.buffer = this.buffer.slice(keep);
    return { output };
  }

  // The first index from which the buffer's tail could still become the end marker.
  private holdBackFrom(): number {
    const longest = this.endPrefix.length + MAX_STATUS_DIGITS + 2;
    for (let i = Math.max(0, this.buffer.length - longest); i < this.buffer.length; i++) {
      if (this.couldStartEnd(this.buffer.slice(i))) return i;
    }
    return this.buffer.length;
  }

  // Whether `tail` is a prefix of some end marker `__VML_END_<id>_<digits>__`.
  private couldStartEnd(tail: string): boolean {
    if (tail.length <= this.endPrefix.length) return this.endPrefix.startsWith(tail);
    if (!tail.startsWith(this.endPrefix)) return false;
    return new RegExp(`^\\d{1,${MAX_STATUS_DIGITS}}_?$`).test(tail.slice(this.endPrefix.length));
  }
}
