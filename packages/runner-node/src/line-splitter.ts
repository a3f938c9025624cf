import { StringDecoder } from 'node:string_decoder';

/** Lines longer than this (in UTF-16 code units) are delivered in pieces of this size. */
export const DEFAULT_MAX_LINE_LENGTH = 64 * 1024;

/**
 * Turns a byte stream into lines as the bytes arrive. `\n`, `\r\n` and a lone `\r` (progress
 * bars) all end a line; invalid UTF-8 becomes U+FFFD; a multi-byte character split across chunks
 * is kept whole. Memory stays bounded: at most one partial line of `maxLineLength` is held, a
 * longer line is cut into pieces, so a process that never prints a newline cannot grow it.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  /** The previous chunk ended in `\r`: a `\n` at the start of the next one belongs to it. */
  private afterCR = false;

  constructor(
    private readonly emit: (line: string) => void,
    private readonly maxLineLength: number = DEFAULT_MAX_LINE_LENGTH,
  ) {
    if (!Number.isInteger(maxLineLength) || maxLineLength < 1) {
      throw new RangeError(`maxLineLength must be a positive integer, got ${maxLineLength}`);
    }
  }

  push(chunk: Buffer): void {
    this.scan(this.decoder.write(chunk));
  }

  /** End of stream: delivers a last line that had no line break. */
  end(): void {
    this.scan(this.decoder.end());
    if (this.pending.length > 0) this.emit(this.pending);
    this.pending = '';
  }

  private scan(text: string): void {
    if (text.length === 0) return;
    let pos = 0;
    if (this.afterCR && text.charCodeAt(0) === 10) pos = 1;
    this.afterCR = false;
    const max = this.maxLineLength;
    // Each indexOf result is reused until the scan passes it, so the scan stays linear.
    let nl = text.indexOf('\n', pos);
    let cr = text.indexOf('\r', pos);
    while (nl !== -1 || cr !== -1) {
      const end = cr !== -1 && (nl === -1 || cr < nl) ? cr : nl;
      this.deliver(text, pos, end, max);
      if (end === cr) {
        if (text.charCodeAt(end + 1) === 10) {
          pos = end + 2;
        } else {
          pos = end + 1;
          if (pos === text.length) this.afterCR = true;
        }
        cr = text.indexOf('\r', pos);
        if (nl !== -1 && nl < pos) nl = text.indexOf('\n', pos);
      } else {
        pos = end + 1;
        nl = text.indexOf('\n', pos);
      }
    }
    // No line break left: keep the rest, cutting off full pieces so `pending` stays bounded.
    let rest = this.pending + text.slice(pos);
    while (rest.length > max) {
      this.emit(rest.slice(0, max));
      rest = rest.slice(max);
    }
    this.pending = rest;
  }

  /** Emits pending + text[from, to) as one line, in pieces of at most `max`. */
  private deliver(text: string, from: number, to: number, max: number): void {
    let line = this.pending.length > 0 ? this.pending + text.slice(from, to) : text.slice(from, to);
    this.pending = '';
    while (line.length > max) {
      this.emit(line.slice(0, max));
      line = line.slice(max);
    }
    this.emit(line);
  }
}
