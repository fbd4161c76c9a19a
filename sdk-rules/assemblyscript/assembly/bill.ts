// A rule's output: rule.Bill and rule.Line of the Go SDK.
import { RuleError, CodeOverflow, CodeInvalidBill } from "./errors";
import { add } from "./money";
import { quote } from "./quote";
import { Input, validCurrency } from "./input";

/** MaxLines is the most lines a bill may have (host Profile.MaxLines). */
export const MaxLines = 1000;

/**
 * One item of a bill. quantity, unit and unitPrice are informative and left
 * out of the output when zero; amount is what counts (negative: a discount).
 */
export class Line {
  constructor(
    public item: string,
    public quantity: i64 = 0,
    public unit: string = "",
    public unitPrice: i64 = 0,
    public amount: i64 = 0,
  ) {}
}

/** A bill: total minor units of currency at scale, itemized by lines. */
export class Bill {
  total: i64 = 0;
  lines: Line[] = [];
  constructor(public currency: string, public scale: i64) {}

  /** add appends a line and adds its amount to the total, or returns an overflow error. */
  add(l: Line): RuleError | null {
    const t = add(this.total, l.amount);
    if (t.err != null) {
      return new RuleError(CodeOverflow, "bill total overflows int64 when adding line " + quote(l.item));
    }
    this.total = t.value;
    this.lines.push(l);
    return null;
  }

  /** check returns an invalid_bill error if the bill breaks ABI v1. */
  check(): RuleError | null {
    if (!validCurrency(this.currency)) {
      return new RuleError(CodeInvalidBill, "bill currency " + quote(this.currency) + " is not 1 to 8 upper-case letters");
    }
    if (this.scale < 0 || this.scale > 18) {
      return new RuleError(CodeInvalidBill, "bill scale " + this.scale.toString() + " is not between 0 and 18");
    }
    if (this.lines.length > MaxLines) {
      return new RuleError(CodeInvalidBill, "bill has " + this.lines.length.toString() + " lines, more than " + MaxLines.toString());
    }
    if (this.total < 0) {
      return new RuleError(CodeInvalidBill, "bill total " + this.total.toString() + " is negative");
    }
    let s: i64 = 0;
    for (let i = 0; i < this.lines.length; i++) {
      const l = this.lines[i];
      if (l.item.length == 0) return new RuleError(CodeInvalidBill, "bill line " + (i + 1).toString() + " has no item");
      const r = add(s, l.amount);
      if (r.err != null) return new RuleError(CodeInvalidBill, "bill line amounts overflow int64 at line " + (i + 1).toString());
      s = r.value;
    }
    if (s != this.total) {
      return new RuleError(CodeInvalidBill, "bill line amounts sum to " + s.toString() + ", not to the total " + this.total.toString());
    }
    return null;
  }
}

/** newBill returns an empty bill in the input's currency and scale. */
export function newBill(input: Input): Bill {
  return new Bill(input.currency, input.scale);
}

/** What a rule returns: a bill, or the error refusing the input. */
export class Result {
  constructor(public bill: Bill | null, public err: RuleError | null) {}
}

/** billed is the result of a rule that made a bill. */
export function billed(b: Bill): Result {
  return new Result(b, null);
}

/** refuse is the result of a rule that refuses its input. */
export function refuse(err: RuleError): Result {
  return new Result(null, err);
}
