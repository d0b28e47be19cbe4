import { closeSync, openSync, writeSync } from 'node:fs';

/** Byte → its ASCII lower-case form (other bytes unchanged). */
const LOWER = new Uint8Array(256);
for (let c = 0; c < 256; c++) LOWER[c] = c >= 0x41 && c <= 0x5a ? c + 32 : c;

/**
 * A growable byte buffer that rows are written into and flushed to a file at row boundaries. A
 * line that the fast scanner gives up on half way is rolled back with `mark`/`reset`.
 */
export class ByteRows {
  buf: Buffer;
  pos = 0;
  rows = 0;
  /** Bytes of the longest row (the loader's line size limit must cover it). */
  longest = 0;
  /**
   * Set when a text field may be JSON-escaped behind `\J` (the loader then decodes text columns;
   * most files have none, and the decoding costs ~10% of the load). May be set spuriously.
   */
  escaped = false;
  private rowStart = 0;
  private readonly fd: number | undefined;

  constructor(path?: string, size = 1 << 21) {
    this.buf = Buffer.allocUnsafe(size);
    this.fd = path === undefined ? undefined : openSync(path, 'w');
  }

  ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  byte(c: number): void {
    if (this.pos >= this.buf.length) this.ensure(1);
    this.buf[this.pos++] = c;
  }

  bytes(src: Uint8Array, start: number, end: number): void {
    const length = end - start;
    if (this.pos + length > this.buf.length) this.ensure(length);
    if (length < 64) {
      const out = this.buf;
      let p = this.pos;
      for (let i = start; i < end; i++) out[p++] = src[i]!;
      this.pos = p;
    } else {
      this.buf.set(new Uint8Array(src.buffer, src.byteOffset + start, length), this.pos);
      this.pos += length;
    }
  }

  /** Lower-cased copy (hex ids): a table lookup per byte, no branch. */
  lower(src: Uint8Array, start: number, end: number): void {
    const length = end - start;
    if (this.pos + length > this.buf.length) this.ensure(length);
    const out = this.buf;
    let p = this.pos;
    for (let i = start; i < end; i++) out[p++] = LOWER[src[i]!]!;
    this.pos = p;
  }

  /** A short ASCII string (numbers, constants). */
  ascii(text: string): void {
    const length = text.length;
    if (this.pos + length > this.buf.length) this.ensure(length);
    for (let i = 0; i < length; i++) this.buf[this.pos++] = text.charCodeAt(i);
  }

  /** Any string, UTF-8 encoded. */
  string(text: string): void {
    this.ensure(text.length * 3);
    this.pos += this.buf.write(text, this.pos, 'utf8');
  }

  /** Ends a row: counts it and tracks the longest. */
  endRow(): void {
    this.byte(0x0a);
    this.rows += 1;
    const length = this.pos - this.rowStart;
    if (length > this.longest) this.longest = length;
    this.rowStart = this.pos;
  }

  mark(): number {
    return this.pos;
  }

  /** A whole row given as a string that ends with its newline (the general path). */
  stringRow(row: string): void {
    if (!this.escaped && row.includes('\\J')) this.escaped = true;
    const start = this.pos;
    this.string(row);
    this.rows += 1;
    const length = this.pos - start;
    if (length > this.longest) this.longest = length;
    this.rowStart = this.pos;
  }

  /** Rolls back to a mark (rows written since are dropped). */
  reset(mark: number, rows: number): void {
    this.pos = mark;
    this.rowStart = mark;
    this.rows = rows;
  }

  /** Writes out what is buffered (only call between rows). */
  flushIfFull(limit = 1 << 20): void {
    if (this.pos >= limit) this.flush();
  }

  flush(): void {
    if (this.fd !== undefined && this.pos > 0) {
      let written = 0;
      while (written < this.pos) written += writeSync(this.fd, this.buf, written, this.pos - written);
    }
    this.pos = 0;
    this.rowStart = 0;
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
  }
}
