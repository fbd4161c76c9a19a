// Rule errors and fallible integers: the AssemblyScript side of
// sdk-rules/rule's Error and Wrap, and of Go's (value, error) pairs.

/** Error codes the kit produces (the same strings as sdk-rules/rule's). */
export const CodeBadInput = "bad_input";
export const CodeUnsupportedABI = "unsupported_abi";
export const CodeMissingPrice = "missing_price";
export const CodeNegativePrice = "negative_price";
export const CodeBadPriceBook = "bad_price_book";
export const CodeNegativeQuantity = "negative_quantity";
export const CodeUnknownMetric = "unknown_metric";
export const CodeUnknownSpec = "unknown_spec";
export const CodeBadPeriod = "bad_period";
export const CodeOverflow = "overflow";
export const CodeInvalidBill = "invalid_bill";
export const CodeNoRule = "no_rule";
export const CodeInvalidArgument = "invalid_argument";

/**
 * A rule error: the rule refuses its input and says why. Returned from a
 * rule (refuse(err)), it becomes the output {"error":{"code":...,"message":...}}.
 */
export class RuleError {
  constructor(public code: string, public message: string) {}
}

/** wrap prefixes err's message with context ("vcpu: ...") and keeps its code. */
export function wrap(err: RuleError, context: string): RuleError {
  return new RuleError(err.code, context + ": " + err.message);
}

/**
 * An int64 or the error that prevented it: what a Go function returning
 * (int64, error) returns here. Check `err` before using `value`.
 */
export class I64 {
  constructor(public value: i64, public err: RuleError | null) {}
  /** failed says whether there is an error. */
  get failed(): bool {
    return this.err != null;
  }
}

/** okI64 is a value without error. */
export function okI64(v: i64): I64 {
  return new I64(v, null);
}

/** failI64 is an error without value. */
export function failI64(code: string, message: string): I64 {
  return new I64(0, new RuleError(code, message));
}
