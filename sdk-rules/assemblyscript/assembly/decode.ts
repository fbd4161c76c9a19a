// The ABI v1 input decoder: a port of sdk-rules/rule's DecodeInput, with the
// same checks in the same order and the same messages and byte offsets, so
// that a refused input gives the Go SDK's error output byte for byte.
import { RuleError, CodeBadInput, CodeUnsupportedABI } from "./errors";
import { Input, Quantities, Attributes, compareNames, validCurrency } from "./input";
import { quote, quoteRune } from "./quote";

const MaxSkipDepth = 64;
const MaxU64: u64 = 0xffffffffffffffff;

/** The result of decodeInput: an input, or a bad_input/unsupported_abi error. */
export class Decoded {
  constructor(public input: Input | null, public err: RuleError | null) {}
}

/** decodeInput parses len bytes of ABI v1 input JSON at ptr. */
export function decodeInput(ptr: usize, len: i32): Decoded {
  const d = new Decoder(ptr, len);
  const input = new Input();
  if (!d.input(input)) return new Decoded(null, d.err);
  d.ws();
  if (d.pos != d.n) {
    d.fail("", "", "unexpected data after the input object");
    return new Decoded(null, d.err);
  }
  return new Decoded(input, null);
}

function isWS(c: u8): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

function isDigit(c: u8): bool {
  return c >= 0x30 && c <= 0x39;
}

// validUTF8 is utf8.Valid: no overlong forms, no surrogates, at most U+10FFFF.
function validUTF8(p: usize, n: i32): bool {
  let i = 0;
  while (i < n) {
    const c = <i32>load<u8>(p + <usize>i);
    if (c < 0x80) {
      i++;
      continue;
    }
    let need = 0, lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c == 0xe0) { need = 2; lo = 0xa0; }
    else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) need = 2;
    else if (c == 0xed) { need = 2; hi = 0x9f; }
    else if (c == 0xf0) { need = 3; lo = 0x90; }
    else if (c >= 0xf1 && c <= 0xf3) need = 3;
    else if (c == 0xf4) { need = 3; hi = 0x8f; }
    else return false;
    if (i + need >= n) return false;
    const c1 = <i32>load<u8>(p + <usize>(i + 1));
    if (c1 < lo || c1 > hi) return false;
    for (let k = 2; k <= need; k++) {
      const ck = <i32>load<u8>(p + <usize>(i + k));
      if (ck < 0x80 || ck > 0xbf) return false;
    }
    i += need + 1;
  }
  return true;
}

class Decoder {
  pos: i32 = 0;
  err: RuleError | null = null;
  // The bytes of a string with escapes, as decoded so far.
  scratch: Uint8Array = new Uint8Array(64);

  constructor(public base: usize, public n: i32) {}

  at(i: i32): u8 {
    return load<u8>(this.base + <usize>i);
  }

  peek(): u8 {
    return this.pos < this.n ? this.at(this.pos) : 0;
  }

  ws(): void {
    while (this.pos < this.n && isWS(this.at(this.pos))) this.pos++;
  }

  /** fail records the error at the entry key of the object at path; returns false. */
  fail(path: string, key: string, msg: string): bool {
    let where = "input";
    if (path.length > 0) where += "." + path;
    if (key.length > 0) where += "." + key;
    this.err = new RuleError(CodeBadInput, where + ": " + msg + " (at byte " + this.pos.toString() + ")");
    return false;
  }

  kind(): string {
    if (this.pos >= this.n) return "the end of the input";
    const c = this.at(this.pos);
    if (c == 0x7b) return "an object";
    if (c == 0x5b) return "an array";
    if (c == 0x22) return "a string";
    if (c == 0x74 || c == 0x66) return "a boolean";
    if (c == 0x6e) return "null";
    if (c == 0x2d || isDigit(c)) return "a number";
    return "the character " + quoteRune(<i32>c);
  }

  // objStart reads '{': 0 on error, 1 for an empty object (consumed), 2 when
  // positioned before the first key.
  objStart(path: string): i32 {
    this.ws();
    if (this.peek() != 0x7b) {
      this.fail(path, "", "expected an object, found " + this.kind());
      return 0;
    }
    this.pos++;
    this.ws();
    if (this.peek() == 0x7d) {
      this.pos++;
      return 1;
    }
    return 2;
  }

  // nextKey reads the separator (unless first), the key and ':', leaving the
  // decoder at the value. null: the end of the object, or an error (err set).
  nextKey(path: string, first: bool): string | null {
    if (!first) {
      this.ws();
      const c = this.peek();
      if (c == 0x2c) {
        this.pos++;
      } else if (c == 0x7d) {
        this.pos++;
        return null;
      } else {
        if (this.pos >= this.n) this.fail(path, "", "unterminated object");
        else this.fail(path, "", "expected ',' or '}' in an object, found " + this.kind());
        return null;
      }
    }
    this.ws();
    if (this.peek() != 0x22) {
      this.fail(path, "", "expected a key string, found " + this.kind());
      return null;
    }
    const key = this.str(path, "");
    if (key == null) return null;
    this.ws();
    if (this.peek() != 0x3a) {
      this.fail(path, "", "expected ':' after a key, found " + this.kind());
      return null;
    }
    this.pos++;
    this.ws();
    return key;
  }

  /** str reads a string for the entry key of the object at path; null on error. */
  str(path: string, key: string): string | null {
    let i = this.pos;
    if (i >= this.n || this.at(i) != 0x22) {
      this.fail(path, key, "expected a string, found " + this.kind());
      return null;
    }
    i++;
    const start = i;
    let ascii = true;
    while (i < this.n) {
      const c = this.at(i);
      if (c == 0x22) {
        if (!ascii && !validUTF8(this.base + <usize>start, i - start)) {
          this.fail(path, key, "string is not valid UTF-8");
          return null;
        }
        this.pos = i + 1;
        return String.UTF8.decodeUnsafe(this.base + <usize>start, <usize>(i - start));
      }
      if (c == 0x5c) {
        this.pos = i;
        return this.strSlow(path, key, start);
      }
      if (c < 0x20) {
        this.pos = i;
        this.fail(path, key, "control character in a string");
        return null;
      }
      if (c >= 0x80) ascii = false;
      i++;
    }
    this.pos = i;
    this.fail(path, key, "unterminated string");
    return null;
  }

  private put(len: i32, b: i32): i32 {
    if (len == this.scratch.length) {
      const s = new Uint8Array(len * 2);
      s.set(this.scratch);
      this.scratch = s;
    }
    this.scratch[len] = <u8>b;
    return len + 1;
  }

  private putRune(len: i32, c: i32): i32 {
    if (c < 0x80) return this.put(len, c);
    if (c < 0x800) {
      len = this.put(len, 0xc0 | (c >> 6));
      return this.put(len, 0x80 | (c & 0x3f));
    }
    if (c < 0x10000) {
      len = this.put(len, 0xe0 | (c >> 12));
      len = this.put(len, 0x80 | ((c >> 6) & 0x3f));
      return this.put(len, 0x80 | (c & 0x3f));
    }
    len = this.put(len, 0xf0 | (c >> 18));
    len = this.put(len, 0x80 | ((c >> 12) & 0x3f));
    len = this.put(len, 0x80 | ((c >> 6) & 0x3f));
    return this.put(len, 0x80 | (c & 0x3f));
  }

  private strSlow(path: string, key: string, start: i32): string | null {
    let len = 0;
    for (let i = start; i < this.pos; i++) len = this.put(len, this.at(i));
    while (this.pos < this.n) {
      const c = this.at(this.pos);
      if (c == 0x22) {
        this.pos++;
        const p = this.scratch.dataStart;
        if (!validUTF8(p, len)) {
          this.fail(path, key, "string is not valid UTF-8");
          return null;
        }
        return String.UTF8.decodeUnsafe(p, <usize>len);
      }
      if (c < 0x20) {
        this.fail(path, key, "control character in a string");
        return null;
      }
      if (c != 0x5c) {
        len = this.put(len, c);
        this.pos++;
        continue;
      }
      if (this.pos + 1 >= this.n) {
        this.fail(path, key, "unterminated string");
        return null;
      }
      const e = this.at(this.pos + 1);
      this.pos += 2;
      if (e == 0x22 || e == 0x5c || e == 0x2f) len = this.put(len, e);
      else if (e == 0x62) len = this.put(len, 8);
      else if (e == 0x66) len = this.put(len, 12);
      else if (e == 0x6e) len = this.put(len, 10);
      else if (e == 0x72) len = this.put(len, 13);
      else if (e == 0x74) len = this.put(len, 9);
      else if (e == 0x75) {
        let r = this.hex4();
        if (r < 0) {
          this.fail(path, key, "invalid \\u escape");
          return null;
        }
        if (r >= 0xd800 && r < 0xe000) {
          if (r >= 0xdc00 || this.pos + 1 >= this.n || this.at(this.pos) != 0x5c || this.at(this.pos + 1) != 0x75) {
            this.fail(path, key, "lone surrogate in a \\u escape");
            return null;
          }
          this.pos += 2;
          const r2 = this.hex4();
          if (r2 < 0) {
            this.fail(path, key, "invalid \\u escape");
            return null;
          }
          if (r2 < 0xdc00 || r2 > 0xdfff) {
            this.fail(path, key, "lone surrogate in a \\u escape");
            return null;
          }
          r = 0x10000 + ((r - 0xd800) << 10) + (r2 - 0xdc00);
        }
        len = this.putRune(len, r);
      } else {
        this.pos--;
        this.fail(path, key, "invalid escape " + quoteRune(<i32>e) + " in a string");
        return null;
      }
    }
    this.fail(path, key, "unterminated string");
    return null;
  }

  // hex4 reads 4 hex digits: the value, or -1.
  private hex4(): i32 {
    if (this.pos + 4 > this.n) return -1;
    let r = 0;
    for (let i = this.pos; i < this.pos + 4; i++) {
      let c = <i32>this.at(i);
      if (c >= 0x30 && c <= 0x39) c -= 0x30;
      else if (c >= 0x61 && c <= 0x66) c -= 0x61 - 10;
      else if (c >= 0x41 && c <= 0x46) c -= 0x41 - 10;
      else return -1;
      r = (r << 4) | c;
    }
    this.pos += 4;
    return r;
  }

  // The integer int reads; ok says whether it read one.
  value: i64 = 0;

  /** int reads an integer that fits in int64 into value. */
  int(path: string, key: string): bool {
    let i = this.pos;
    let neg = false;
    if (i < this.n && this.at(i) == 0x2d) {
      neg = true;
      i++;
    }
    if (i >= this.n || !isDigit(this.at(i))) return this.fail(path, key, "expected an integer, found " + this.kind());
    let v: u64 = 0;
    let overflow = false;
    if (this.at(i) == 0x30) {
      i++;
    } else {
      while (i < this.n && isDigit(this.at(i))) {
        const digit = <u64>(this.at(i) - 0x30);
        if (v > (MaxU64 - digit) / 10) overflow = true;
        else v = v * 10 + digit;
        i++;
      }
    }
    if (i < this.n) {
      const c = this.at(i);
      if (c == 0x2e || c == 0x65 || c == 0x45) {
        return this.fail(path, key, "number is not an integer (ABI v1 numbers are integers: no fraction, no exponent)");
      }
      if (isDigit(c)) return this.fail(path, key, "number has a leading zero");
    }
    if (neg) {
      if (overflow || v > 0x8000000000000000) return this.fail(path, key, "integer " + this.numberText() + " is below the int64 minimum");
      this.pos = i;
      this.value = -(<i64>v);
      return true;
    }
    if (overflow || v > 0x7fffffffffffffff) return this.fail(path, key, "integer " + this.numberText() + " is above the int64 maximum");
    this.pos = i;
    this.value = <i64>v;
    return true;
  }

  private numberText(): string {
    let end = this.pos;
    while (end < this.n && end - this.pos < 40 && (this.at(end) == 0x2d || isDigit(this.at(end)))) end++;
    return String.UTF8.decodeUnsafe(this.base + <usize>this.pos, <usize>(end - this.pos));
  }

  /** skip reads and discards any well-formed JSON value (an unknown field's). */
  skip(path: string, key: string): bool {
    const stack = new Uint8Array(MaxSkipDepth);
    let depth = 0;
    while (true) {
      this.ws();
      if (this.pos >= this.n) return this.fail(path, key, "unexpected end of the input");
      const c = this.at(this.pos);
      let container = false;
      if (c == 0x7b || c == 0x5b) {
        if (depth == MaxSkipDepth) return this.fail(path, key, "unknown field nests deeper than " + MaxSkipDepth.toString() + " levels");
        this.pos++;
        this.ws();
        const end: u8 = c == 0x5b ? 0x5d : 0x7d;
        if (this.peek() == end) {
          this.pos++; // an empty container: a complete value
        } else {
          stack[depth++] = end;
          if (end == 0x7d && !this.skipKey(path, key)) return false;
          container = true;
        }
      } else if (c == 0x22) {
        if (this.str(path, key) == null) return false;
      } else if (c == 0x2d || isDigit(c)) {
        if (!this.skipNumber(path, key)) return false;
      } else if (c == 0x74) {
        if (!this.literal(path, key, "true")) return false;
      } else if (c == 0x66) {
        if (!this.literal(path, key, "false")) return false;
      } else if (c == 0x6e) {
        if (!this.literal(path, key, "null")) return false;
      } else {
        return this.fail(path, key, "expected a JSON value, found " + this.kind());
      }
      if (container) continue; // read the first element's value
      // After a complete value: close containers or move to the next element.
      while (true) {
        if (depth == 0) return true;
        this.ws();
        if (this.pos >= this.n) return this.fail(path, key, "unexpected end of the input");
        const x = this.at(this.pos);
        if (x == stack[depth - 1]) {
          this.pos++;
          depth--;
          continue;
        }
        if (x != 0x2c) return this.fail(path, key, "expected ',' or " + quoteRune(<i32>stack[depth - 1]) + ", found " + this.kind());
        this.pos++;
        if (stack[depth - 1] == 0x7d && !this.skipKey(path, key)) return false;
        break;
      }
    }
    return true;
  }

  private skipKey(path: string, key: string): bool {
    this.ws();
    if (this.peek() != 0x22) return this.fail(path, key, "expected a key string, found " + this.kind());
    if (this.str(path, key) == null) return false;
    this.ws();
    if (this.peek() != 0x3a) return this.fail(path, key, "expected ':' after a key, found " + this.kind());
    this.pos++;
    return true;
  }

  private literal(path: string, key: string, lit: string): bool {
    if (this.pos + lit.length > this.n) return this.fail(path, key, "invalid literal, found " + this.kind());
    for (let i = 0; i < lit.length; i++) {
      if (<i32>this.at(this.pos + i) != lit.charCodeAt(i)) return this.fail(path, key, "invalid literal, found " + this.kind());
    }
    this.pos += lit.length;
    return true;
  }

  private digits(): i32 {
    let k = 0;
    while (this.pos < this.n && isDigit(this.at(this.pos))) {
      this.pos++;
      k++;
    }
    return k;
  }

  private skipNumber(path: string, key: string): bool {
    if (this.at(this.pos) == 0x2d) this.pos++;
    if (this.peek() == 0x30) this.pos++;
    else if (this.digits() == 0) return this.fail(path, key, "invalid number");
    if (this.peek() == 0x2e) {
      this.pos++;
      if (this.digits() == 0) return this.fail(path, key, "invalid number");
    }
    const e = this.peek();
    if (e == 0x65 || e == 0x45) {
      this.pos++;
      const s = this.peek();
      if (s == 0x2b || s == 0x2d) this.pos++;
      if (this.digits() == 0) return this.fail(path, key, "invalid number");
    }
    return true;
  }

  // once marks a field seen, or fails on a duplicate (0xffffffff).
  private once(seen: u32, bit: u32, path: string): u32 {
    if ((seen & (1 << bit)) != 0) {
      this.fail(path, "", "duplicate key");
      return 0xffffffff;
    }
    return seen | (1 << bit);
  }

  input(input: Input): bool {
    let s: u32 = 0;
    const st = this.objStart("");
    if (st == 0) return false;
    if (st == 2) {
      let first = true;
      while (true) {
        const k = this.nextKey("", first);
        first = false;
        if (k == null) {
          if (this.err != null) return false;
          break;
        }
        const key = k;
        let ok = true;
        if (key == "abi") {
          s = this.once(s, 0, "abi");
          ok = s != 0xffffffff && this.int("abi", "");
          if (ok) {
            input.abi = this.value;
            if (input.abi != 1) {
              this.err = new RuleError(CodeUnsupportedABI, "input is ABI version " + input.abi.toString() + "; this rule speaks ABI 1");
              return false;
            }
          }
        } else if (key == "currency") {
          s = this.once(s, 1, "currency");
          if (s == 0xffffffff) return false;
          const v = this.str("currency", "");
          ok = v != null;
          if (ok) {
            input.currency = v!;
            if (!validCurrency(input.currency)) ok = this.fail("currency", "", quote(input.currency) + " is not 1 to 8 upper-case letters");
          }
        } else if (key == "scale") {
          s = this.once(s, 2, "scale");
          ok = s != 0xffffffff && this.int("scale", "");
          if (ok) {
            input.scale = this.value;
            if (input.scale < 0 || input.scale > 18) ok = this.fail("scale", "", input.scale.toString() + " is not between 0 and 18");
          }
        } else if (key == "period") {
          s = this.once(s, 3, "period");
          ok = s != 0xffffffff && this.period(input);
        } else if (key == "price") {
          s = this.once(s, 4, "price");
          ok = s != 0xffffffff && this.price(input);
        } else if (key == "quota") {
          s = this.once(s, 5, "quota");
          ok = s != 0xffffffff && this.quantities("quota", input.quota);
        } else if (key == "resource") {
          s = this.once(s, 6, "resource");
          ok = s != 0xffffffff && this.resource(input);
        } else if (key == "tx") {
          s = this.once(s, 7, "tx");
          ok = s != 0xffffffff && this.tx(input);
        } else if (key == "usage") {
          s = this.once(s, 8, "usage");
          ok = s != 0xffffffff && this.quantities("usage", input.usage);
        } else {
          ok = this.skip("", key);
        }
        if (!ok) return false;
      }
    }
    const required = ["abi", "currency", "scale", "period"];
    for (let b = 0; b < 4; b++) {
      if ((s & (1 << <u32>b)) == 0) return this.fail("", "", "missing required field " + quote(required[b]));
    }
    return true;
  }

  private period(input: Input): bool {
    let s: u32 = 0;
    const st = this.objStart("period");
    if (st == 0) return false;
    if (st == 2) {
      let first = true;
      while (true) {
        const k = this.nextKey("period", first);
        first = false;
        if (k == null) {
          if (this.err != null) return false;
          break;
        }
        const key = k;
        let ok = true;
        if (key == "start") {
          s = this.once(s, 0, "period.start");
          ok = s != 0xffffffff && this.int("period.start", "");
          if (ok) input.period.start = this.value;
        } else if (key == "end") {
          s = this.once(s, 1, "period.end");
          ok = s != 0xffffffff && this.int("period.end", "");
          if (ok) input.period.end = this.value;
        } else {
          ok = this.skip("period", key);
        }
        if (!ok) return false;
      }
    }
    if ((s & 1) == 0) return this.fail("period", "", "missing required field \"start\"");
    if ((s & 2) == 0) return this.fail("period", "", "missing required field \"end\"");
    return true;
  }

  private price(input: Input): bool {
    let s: u32 = 0;
    const st = this.objStart("price");
    if (st == 0) return false;
    if (st == 1) return true;
    let first = true;
    while (true) {
      const k = this.nextKey("price", first);
      first = false;
      if (k == null) return this.err == null;
      const key = k;
      let ok = true;
      if (key == "effective_from") {
        s = this.once(s, 0, "price.effective_from");
        ok = s != 0xffffffff && this.int("price.effective_from", "");
        if (ok) input.price.effectiveFrom = this.value;
      } else if (key == "unit_prices") {
        s = this.once(s, 1, "price.unit_prices");
        ok = s != 0xffffffff && this.quantities("price.unit_prices", input.price.unitPrices);
      } else {
        ok = this.skip("price", key);
      }
      if (!ok) return false;
    }
    return true;
  }

  private resource(input: Input): bool {
    let s: u32 = 0;
    const r = input.resource;
    const st = this.objStart("resource");
    if (st == 0) return false;
    if (st == 1) return true;
    let first = true;
    while (true) {
      const k = this.nextKey("resource", first);
      first = false;
      if (k == null) return this.err == null;
      const key = k;
      let ok = true;
      if (key == "id" || key == "type" || key == "provider" || key == "consumer") {
        const bit: u32 = key == "id" ? 0 : key == "type" ? 1 : key == "provider" ? 2 : 3;
        s = this.once(s, bit, "resource." + key);
        if (s == 0xffffffff) return false;
        const v = this.str("resource." + key, "");
        if (v == null) return false;
        if (bit == 0) r.id = v;
        else if (bit == 1) r.type = v;
        else if (bit == 2) r.provider = v;
        else r.consumer = v;
      } else if (key == "spec") {
        s = this.once(s, 4, "resource.spec");
        ok = s != 0xffffffff && this.quantities("resource.spec", r.spec);
      } else if (key == "attributes") {
        s = this.once(s, 5, "resource.attributes");
        ok = s != 0xffffffff && this.attributes("resource.attributes", r.attributes);
      } else {
        ok = this.skip("resource", key);
      }
      if (!ok) return false;
    }
    return true;
  }

  private tx(input: Input): bool {
    let s: u32 = 0;
    const st = this.objStart("tx");
    if (st == 0) return false;
    if (st == 1) return true;
    let first = true;
    while (true) {
      const k = this.nextKey("tx", first);
      first = false;
      if (k == null) return this.err == null;
      const key = k;
      let ok = true;
      if (key == "id") {
        s = this.once(s, 0, "tx.id");
        if (s == 0xffffffff) return false;
        const v = this.str("tx.id", "");
        if (v == null) return false;
        input.tx.id = v;
      } else if (key == "time") {
        s = this.once(s, 1, "tx.time");
        ok = s != 0xffffffff && this.int("tx.time", "");
        if (ok) input.tx.time = this.value;
      } else {
        ok = this.skip("tx", key);
      }
      if (!ok) return false;
    }
    return true;
  }

  private quantities(path: string, q: Quantities): bool {
    const st = this.objStart(path);
    if (st == 0) return false;
    if (st == 2) {
      let first = true;
      while (true) {
        const k = this.nextKey(path, first);
        first = false;
        if (k == null) {
          if (this.err != null) return false;
          break;
        }
        if (!this.int(path, k)) return false;
        q.names.push(k);
        q.values.push(this.value);
      }
    }
    // Insertion sort by name (Go: slices.SortFunc), then refuse duplicates.
    for (let i = 1; i < q.names.length; i++) {
      const n = q.names[i], v = q.values[i];
      let j = i - 1;
      while (j >= 0 && compareNames(q.names[j], n) > 0) {
        q.names[j + 1] = q.names[j];
        q.values[j + 1] = q.values[j];
        j--;
      }
      q.names[j + 1] = n;
      q.values[j + 1] = v;
    }
    for (let i = 1; i < q.names.length; i++) {
      if (q.names[i] == q.names[i - 1]) return this.fail(path, "", "duplicate key " + quote(q.names[i]));
    }
    return true;
  }

  private attributes(path: string, a: Attributes): bool {
    const st = this.objStart(path);
    if (st == 0) return false;
    if (st == 2) {
      let first = true;
      while (true) {
        const k = this.nextKey(path, first);
        first = false;
        if (k == null) {
          if (this.err != null) return false;
          break;
        }
        const v = this.str(path, k);
        if (v == null) return false;
        a.names.push(k);
        a.values.push(v);
      }
    }
    for (let i = 1; i < a.names.length; i++) {
      const n = a.names[i], v = a.values[i];
      let j = i - 1;
      while (j >= 0 && compareNames(a.names[j], n) > 0) {
        a.names[j + 1] = a.names[j];
        a.values[j + 1] = a.values[j];
        j--;
      }
      a.names[j + 1] = n;
      a.values[j + 1] = v;
    }
    for (let i = 1; i < a.names.length; i++) {
      if (a.names[i] == a.names[i - 1]) return this.fail(path, "", "duplicate key " + quote(a.names[i]));
    }
    return true;
  }
}
