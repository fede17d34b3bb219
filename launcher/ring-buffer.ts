// A bounded text buffer with absolute offsets, so waits can say "after this point" even after
// old text has been dropped.

/** Keeps the last `capacity` characters of a stream and counts everything ever appended. */
export class TextRing {
  private text = '';
  private dropped = 0;

  constructor(private readonly capacity: number) {}

  // Appends text, dropping the oldest characters beyond capacity.
  append(chunk: string): void {
    this.text += chunk;
    const excess = this.text.length - this.capacity;
    if (excess > 0) {
      this.text = this.text.slice(excess);
      this.dropped += excess;
    }
  }

  /** Absolute offset just past the newest character. */
  get end(): number {
    return this.dropped + this.text.length;
  }

  // Text from absolute offset `from` (clamped to what is still kept) to the end.
  since(from: number): { text: string; start: number } {
    const start = Math.max(from, this.dropped);
    return { text: this.text.slice(start - this.dropped), start };
  }

  // The last `chars` characters.
  tail(chars: number): string {
    return this.text.slice(-chars);
  }
}
