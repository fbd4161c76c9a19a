// The canonical ABI v1 output, byte for byte as sdk-rules/rule writes it.
import { Bill } from "./bill";

/** Bytes is a growable byte buffer (UTF-8 output). */
export class Bytes {
  buf: Uint8Array = new Uint8Array(512);
  length: i32 = 0;

  byte(b: i32): void {
    if (this.length == this.buf.length) {
      const n = new Uint8Array(this.buf.length * 2);
      n.set(this.buf);
      this.buf = n;
    }
    this.buf[this.length++] = <u8>b;
  }

  /** ascii appends a string of ASCII characters as is. */
  ascii(s: string): void {
    for (let i = 0; i < s.length; i++) this.byte(s.charCodeAt(i));
  }

  int(v: i64): void {
    this.ascii(v.toString());
  }

  /** codePoint appends c in UTF-8. */
  codePoint(c: i32): void {
    if (c < 0x80) {
      this.byte(c);
    } else if (c < 0x800) {
      this.byte(0xc0 | (c >> 6));
      this.byte(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      this.byte(0xe0 | (c >> 12));
      this.byte(0x80 | ((c >> 6) & 0x3f));
      this.byte(0x80 | (c & 0x3f));
    } else {
      this.byte(0xf0 | (c >> 18));
      this.byte(0x80 | ((c >> 12) & 0x3f));
      this.byte(0x80 | ((c >> 6) & 0x3f));
      this.byte(0x80 | (c & 0x3f));
    }
  }

  /**
   * string appends s as a JSON string as the Go SDK does: '"' and '\' escaped,
   * control characters as \n, \r, \t or \u00XX, everything else as is (a lone
   * surrogate, which UTF-8 cannot hold, as \ufffd).
   */
  string(s: string): void {
    this.byte(0x22);
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c == 0x22 || c == 0x5c) {
        this.byte(0x5c);
        this.byte(c);
      } else if (c < 0x20) {
        this.byte(0x5c);
        if (c == 10) this.byte(0x6e);
        else if (c == 13) this.byte(0x72);
        else if (c == 9) this.byte(0x74);
        else {
          this.ascii("u00");
          this.byte("0123456789abcdef".charCodeAt(c >> 4));
          this.byte("0123456789abcdef".charCodeAt(c & 0xf));
        }
      } else if (c >= 0xd800 && c < 0xe000) {
        const c2 = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
        if (c < 0xdc00 && c2 >= 0xdc00 && c2 < 0xe000) {
          this.codePoint(0x10000 + ((c - 0xd800) << 10) + (c2 - 0xdc00));
          i++;
        } else {
          this.ascii("\\ufffd");
        }
      } else {
        this.codePoint(c);
      }
    }
    this.byte(0x22);
  }
}

/** appendBill writes the canonical JSON of b: total, currency, scale, lines. */
export function appendBill(o: Bytes, b: Bill): void {
  o.ascii("{\"total\":");
  o.int(b.total);
  o.ascii(",\"currency\":");
  o.string(b.currency);
  o.ascii(",\"scale\":");
  o.int(b.scale);
  o.ascii(",\"lines\":[");
  for (let i = 0; i < b.lines.length; i++) {
    const l = b.lines[i];
    if (i > 0) o.byte(0x2c);
    o.ascii("{\"item\":");
    o.string(l.item);
    if (l.quantity != 0) {
      o.ascii(",\"quantity\":");
      o.int(l.quantity);
    }
    if (l.unit.length > 0) {
      o.ascii(",\"unit\":");
      o.string(l.unit);
    }
    if (l.unitPrice != 0) {
      o.ascii(",\"unit_price\":");
      o.int(l.unitPrice);
    }
    o.ascii(",\"amount\":");
    o.int(l.amount);
    o.byte(0x7d);
  }
  o.ascii("]}");
}

/** appendError writes {"error":{"code":...,"message":...}}. */
export function appendError(o: Bytes, code: string, message: string): void {
  o.ascii("{\"error\":{\"code\":");
  o.string(code);
  o.ascii(",\"message\":");
  o.string(message);
  o.ascii("}}");
}
