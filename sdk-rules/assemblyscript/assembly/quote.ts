// Go's strconv.Quote and QuoteRune, for messages that must match the Go SDK's
// byte for byte. Exact for ASCII and for every assigned non-ASCII code point
// below; an unassigned code point, which Go escapes, is kept as is here.

const HEX = "0123456789abcdef";

// isPrint approximates unicode.IsPrint for code points >= 0x80: false for
// the C1 controls, spaces other than U+0020, format characters, line and
// paragraph separators, surrogates, private use and noncharacters.
function isPrint(c: i32): bool {
  if (c < 0xa0) return false; // C1 controls (0x80..0x9f)
  if (c == 0xa0 || c == 0xad || c == 0x61c || c == 0x1680 || c == 0x180e) return false;
  if (c >= 0x600 && c <= 0x605) return false;
  if (c == 0x6dd || c == 0x70f || c == 0x8e2) return false;
  if (c >= 0x2000 && c <= 0x200f) return false;
  if (c >= 0x2028 && c <= 0x202f) return false;
  if (c >= 0x205f && c <= 0x206f) return false;
  if (c == 0x3000 || c == 0xfeff) return false;
  if (c >= 0xd800 && c <= 0xf8ff) return false; // surrogates, private use
  if (c >= 0xfff9 && c <= 0xfffb) return false;
  if ((c & 0xfffe) == 0xfffe) return false; // noncharacters U+xFFFE, U+xFFFF
  if (c >= 0xfdd0 && c <= 0xfdef) return false;
  if (c >= 0xe0000) return false; // tags, variation selectors supplement (partly), private use planes
  if (c >= 0x1bca0 && c <= 0x1bca3) return false;
  if (c >= 0x1d173 && c <= 0x1d17a) return false;
  return true;
}

function hexN(c: i32, n: i32): string {
  let s = "";
  for (let i = n - 1; i >= 0; i--) s += HEX.charAt((c >> (i * 4)) & 0xf);
  return s;
}

function quoteCodePoint(c: i32, q: i32): string {
  if (c == q || c == 0x5c) return "\\" + String.fromCharCode(c);
  if (c >= 0x20 && c < 0x7f) return String.fromCharCode(c);
  if (c == 7) return "\\a";
  if (c == 8) return "\\b";
  if (c == 12) return "\\f";
  if (c == 10) return "\\n";
  if (c == 13) return "\\r";
  if (c == 9) return "\\t";
  if (c == 11) return "\\v";
  if (c < 0x80) return "\\x" + hexN(c, 2);
  if (isPrint(c)) return String.fromCodePoint(c);
  if (c < 0x10000) return "\\u" + hexN(c, 4);
  return "\\U" + hexN(c, 8);
}

/** quote is strconv.Quote: s in double quotes with Go's escapes. */
export function quote(s: string): string {
  let out = "\"";
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const c2 = s.charCodeAt(i + 1);
      if (c2 >= 0xdc00 && c2 < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (c2 - 0xdc00);
        i++;
      }
    }
    out += quoteCodePoint(c, 0x22);
  }
  return out + "\"";
}

/** quoteRune is strconv.QuoteRune: c in single quotes with Go's escapes. */
export function quoteRune(c: i32): string {
  return "'" + quoteCodePoint(c, 0x27) + "'";
}
