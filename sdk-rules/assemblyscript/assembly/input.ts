// The ABI v1 input (host/ABI.md), as sdk-rules/rule's Input, with its helpers.
import { I64, okI64, failI64, RuleError, CodeMissingPrice, CodeNegativePrice, CodeNegativeQuantity, CodeUnknownMetric, CodeUnknownSpec, CodeBadPeriod } from "./errors";
import { quote } from "./quote";

/**
 * compareNames orders strings as Go compares their UTF-8 bytes (code point
 * order, which differs from UTF-16 order only around surrogates).
 */
export function compareNames(a: string, b: string): i32 {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let x = <i32>a.charCodeAt(i), y = <i32>b.charCodeAt(i);
    if (x == y) continue;
    // Surrogates (astral code points) sort above U+E000..U+FFFF.
    if (x >= 0xd800 && x < 0xe000) x += 0x2000;
    else if (x >= 0xe000) x -= 0x800;
    if (y >= 0xd800 && y < 0xe000) y += 0x2000;
    else if (y >= 0xe000) y -= 0x800;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Named integers sorted by name, each name once (rule.Quantities). */
export class Quantities {
  names: string[] = [];
  values: i64[] = [];

  get length(): i32 {
    return this.names.length;
  }

  index(name: string): i32 {
    let lo = 0, hi = this.names.length;
    while (lo < hi) {
      const m = (lo + hi) >>> 1;
      if (compareNames(this.names[m], name) < 0) lo = m + 1;
      else hi = m;
    }
    return lo < this.names.length && this.names[lo] == name ? lo : -1;
  }

  /** has says whether name is present. */
  has(name: string): bool {
    return this.index(name) >= 0;
  }

  /** get returns the value of name, 0 if absent. */
  get(name: string): i64 {
    const i = this.index(name);
    return i < 0 ? 0 : this.values[i];
  }
}

/** Named strings sorted by name (rule.Attributes). */
export class Attributes {
  names: string[] = [];
  values: string[] = [];

  get length(): i32 {
    return this.names.length;
  }

  /** get returns the value of name, "" if absent. */
  get(name: string): string {
    for (let i = 0; i < this.names.length; i++) if (this.names[i] == name) return this.values[i];
    return "";
  }
}

export class Period {
  start: i64 = 0;
  end: i64 = 0;
}

export class PriceBook {
  effectiveFrom: i64 = 0;
  unitPrices: Quantities = new Quantities();
}

export class Resource {
  id: string = "";
  type: string = "";
  provider: string = "";
  consumer: string = "";
  spec: Quantities = new Quantities();
  attributes: Attributes = new Attributes();
}

export class Tx {
  id: string = "";
  time: i64 = 0;
}

/** Everything a rule may look at (rule.Input). */
export class Input {
  abi: i64 = 0;
  currency: string = "";
  scale: i64 = 0;
  period: Period = new Period();
  price: PriceBook = new PriceBook();
  quota: Quantities = new Quantities();
  resource: Resource = new Resource();
  tx: Tx = new Tx();
  usage: Quantities = new Quantities();

  /** unitPrice: the price called name; missing_price or negative_price errors. */
  unitPrice(name: string): I64 {
    const i = this.price.unitPrices.index(name);
    if (i < 0) return failI64(CodeMissingPrice, "no unit price for " + quote(name) + " in the price book entry");
    const v = this.price.unitPrices.values[i];
    if (v < 0) return failI64(CodeNegativePrice, "unit price " + quote(name) + " is negative: " + v.toString());
    return okI64(v);
  }

  /** metric: the usage of a metric, 0 if absent; negative_quantity if negative. */
  metric(name: string): I64 {
    const v = this.usage.get(name);
    if (v < 0) return failI64(CodeNegativeQuantity, "usage " + quote(name) + " is negative: " + v.toString());
    return okI64(v);
  }

  /** spec: the resource's size called name, 0 if absent; negative_quantity if negative. */
  spec(name: string): I64 {
    const v = this.resource.spec.get(name);
    if (v < 0) return failI64(CodeNegativeQuantity, "resource spec " + quote(name) + " is negative: " + v.toString());
    return okI64(v);
  }

  /** knownMetrics: an unknown_metric error if the usage holds a metric not in known. */
  knownMetrics(known: string[]): RuleError | null {
    const name = firstUnknown(this.usage, known);
    if (name == null) return null;
    return new RuleError(CodeUnknownMetric, "usage holds metric " + quote(name) + ", which this rule does not bill (it bills: " + list(known) + ")");
  }

  /** knownSpec: an unknown_spec error if the spec holds a size not in known. */
  knownSpec(known: string[]): RuleError | null {
    const name = firstUnknown(this.resource.spec, known);
    if (name == null) return null;
    return new RuleError(CodeUnknownSpec, "resource spec holds " + quote(name) + ", which this rule does not bill (it bills: " + list(known) + ")");
  }

  /** seconds: the period's length, or bad_period unless it ends after it starts. */
  seconds(): I64 {
    const s = this.period.start, e = this.period.end;
    if (e <= s) return failI64(CodeBadPeriod, "period ends at " + e.toString() + ", not after its start " + s.toString());
    const d = e - s;
    if (d < 0) return failI64(CodeBadPeriod, "period from " + s.toString() + " to " + e.toString() + " is too long");
    return okI64(d);
  }
}

function firstUnknown(q: Quantities, known: string[]): string | null {
  for (let i = 0; i < q.names.length; i++) {
    if (!known.includes(q.names[i])) return q.names[i];
  }
  return null;
}

function list(names: string[]): string {
  if (names.length == 0) return "nothing";
  return names.join(", ");
}

/** validCurrency: 1 to 8 upper-case ASCII letters. */
export function validCurrency(c: string): bool {
  if (c.length < 1 || c.length > 8) return false;
  for (let i = 0; i < c.length; i++) {
    const x = c.charCodeAt(i);
    if (x < 0x41 || x > 0x5a) return false;
  }
  return true;
}
