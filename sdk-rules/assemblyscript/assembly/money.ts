// Integer money for billing rules: the exact behaviour of sdk-rules/money
// (Go): int64 minor units, every operation checked for overflow (an error, not
// a wrapped value), every division with a named rounding mode, MulDiv exact
// through a 128-bit intermediate, and the same error codes and messages.
import { I64, okI64, failI64, RuleError, CodeOverflow, CodeInvalidArgument, CodeNegativeQuantity, CodeNegativePrice } from "./errors";

/** Rounding modes, as money.RoundingMode. Symmetric around zero. */
export const Down: u8 = 0; // toward zero
export const Up: u8 = 1; // away from zero
export const HalfUp: u8 = 2; // to nearest, ties away from zero
export const HalfEven: u8 = 3; // to nearest, ties to even

export const MaxInt64: i64 = 9223372036854775807;
/** Unbounded is the upTo of a last tier with no upper bound. */
export const Unbounded: i64 = MaxInt64;

function itoa(v: i64): string {
  return v.toString();
}

/** modeName is money.RoundingMode.String. */
export function modeName(m: u8): string {
  if (m == Down) return "down";
  if (m == Up) return "up";
  if (m == HalfUp) return "half_up";
  if (m == HalfEven) return "half_even";
  return "rounding(" + m.toString() + ")";
}

/** add returns a+b, or an overflow error. */
export function add(a: i64, b: i64): I64 {
  const s = a + b;
  if ((a >= 0) == (b >= 0) && (s >= 0) != (a >= 0)) {
    return failI64(CodeOverflow, itoa(a) + " + " + itoa(b) + " overflows int64");
  }
  return okI64(s);
}

/** sub returns a-b, or an overflow error. */
export function sub(a: i64, b: i64): I64 {
  const s = a - b;
  if ((a >= 0) != (b >= 0) && (s >= 0) != (a >= 0)) {
    return failI64(CodeOverflow, itoa(a) + " - " + itoa(b) + " overflows int64");
  }
  return okI64(s);
}

// The 128-bit product of mul128, and the int64 of signed.
let HI: u64 = 0;
let LO: u64 = 0;
let SIGNED: i64 = 0;

function mul128(a: u64, b: u64): void {
  const aL = a & 0xffffffff, aH = a >> 32, bL = b & 0xffffffff, bH = b >> 32;
  const ll = aL * bL, lh = aL * bH, hl = aH * bL, hh = aH * bH;
  const mid = (ll >> 32) + (lh & 0xffffffff) + (hl & 0xffffffff);
  LO = (ll & 0xffffffff) | (mid << 32);
  HI = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

function uabs(v: i64): u64 {
  return v < 0 ? <u64>(-v) : <u64>v; // -MinInt64 wraps to MinInt64: 2^63 as u64, right
}

// signed sets SIGNED to the int64 of magnitude hi:lo with sign neg, if it fits.
function signed(hi: u64, lo: u64, neg: bool): bool {
  if (hi != 0) return false;
  if (neg) {
    if (lo > 0x8000000000000000) return false;
    SIGNED = -(<i64>lo);
    return true;
  }
  if (lo > <u64>MaxInt64) return false;
  SIGNED = <i64>lo;
  return true;
}

/** mul returns a×b, or an overflow error. */
export function mul(a: i64, b: i64): I64 {
  if (a == 0 || b == 0) return okI64(0);
  const neg = (a < 0) != (b < 0);
  mul128(uabs(a), uabs(b));
  if (!signed(HI, LO, neg)) {
    return failI64(CodeOverflow, itoa(a) + " × " + itoa(b) + " overflows int64");
  }
  return okI64(SIGNED);
}

/**
 * sum adds amounts, or returns an overflow error; it fails if and only if the
 * exact sum does not fit, whatever the order.
 */
export function sum(amounts: i64[]): I64 {
  let hi: u64 = 0, lo: u64 = 0;
  for (let i = 0; i < amounts.length; i++) {
    const a = amounts[i];
    const nlo = lo + <u64>a;
    const carry: u64 = nlo < lo ? 1 : 0;
    lo = nlo;
    hi = hi + (a < 0 ? 0xffffffffffffffff : 0) + carry;
  }
  if ((<i64>lo < 0 && hi != 0xffffffffffffffff) || (<i64>lo >= 0 && hi != 0)) {
    return failI64(CodeOverflow, "sum of " + amounts.length.toString() + " amounts overflows int64");
  }
  return okI64(<i64>lo);
}

function roundUp(q: u64, r: u64, d: u64, mode: u8): bool {
  if (mode == Up) return true;
  if (mode == HalfUp || mode == HalfEven) {
    if (r > d - r) return true;
    if (r < d - r) return false;
    if (mode == HalfUp) return true;
    return (q & 1) == 1;
  }
  return false;
}

/**
 * mulDiv returns a×b÷c rounded by mode, computed exactly: the product may
 * exceed int64 as long as the result fits. c must not be zero.
 */
export function mulDiv(a: i64, b: i64, c: i64, mode: u8): I64 {
  if (c == 0) {
    return failI64(CodeInvalidArgument, itoa(a) + " × " + itoa(b) + " ÷ 0: division by zero");
  }
  if (mode > HalfEven) {
    return failI64(CodeInvalidArgument, "unknown rounding mode " + modeName(mode));
  }
  if (a == 0 || b == 0) return okI64(0);
  const neg = ((a < 0) != (b < 0)) != (c < 0);
  const d = uabs(c);
  mul128(uabs(a), uabs(b));
  const hi = HI, lo = LO;
  const overflow = itoa(a) + " × " + itoa(b) + " ÷ " + itoa(c) + " overflows int64";
  if (hi >= d) return failI64(CodeOverflow, overflow);
  // hi:lo ÷ d, hi < d: restoring division, one quotient bit a step.
  let r = hi;
  let q: u64 = 0;
  for (let i = 63; i >= 0; i--) {
    const carry = r >> 63;
    r = (r << 1) | ((lo >> <u64>i) & 1);
    q = q << 1;
    if (carry != 0 || r >= d) {
      r -= d;
      q |= 1;
    }
  }
  if (r != 0 && roundUp(q, r, d, mode)) {
    q++;
    if (q == 0) return failI64(CodeOverflow, overflow);
  }
  if (!signed(0, q, neg)) return failI64(CodeOverflow, overflow);
  return okI64(SIGNED);
}

/** div returns a÷c rounded by mode. */
export function div(a: i64, c: i64, mode: u8): I64 {
  return mulDiv(a, 1, c, mode);
}

/**
 * prorate returns amountPerUnit × seconds ÷ unitSeconds rounded by mode: the
 * amount due for seconds of something priced per unitSeconds (3600: hourly).
 */
export function prorate(amountPerUnit: i64, seconds: i64, unitSeconds: i64, mode: u8): I64 {
  if (seconds < 0) {
    return failI64(CodeNegativeQuantity, "prorate over " + itoa(seconds) + " seconds: negative duration");
  }
  if (unitSeconds <= 0) {
    return failI64(CodeInvalidArgument, "prorate per " + itoa(unitSeconds) + " seconds: the unit must be positive");
  }
  return mulDiv(amountPerUnit, seconds, unitSeconds, mode);
}

/** A band of a tiered price list (money.Tier). */
export class Tier {
  constructor(public upTo: i64, public price: i64) {}
}

/** The part of a quantity priced by one tier (money.Band). */
export class Band {
  constructor(public tier: i32, public quantity: i64, public price: i64, public amount: i64) {}
}

/** checkTiers: at least one tier, upTo positive and increasing, no negative price. */
export function checkTiers(tiers: Tier[]): RuleError | null {
  if (tiers.length == 0) return new RuleError(CodeInvalidArgument, "no tiers");
  let prev: i64 = 0;
  for (let i = 0; i < tiers.length; i++) {
    const t = tiers[i];
    const n = (i + 1).toString();
    if (t.upTo <= prev) {
      return new RuleError(CodeInvalidArgument, "tier " + n + " ends at " + itoa(t.upTo) + ", not above the previous tier's end " + itoa(prev));
    }
    if (t.price < 0) return new RuleError(CodeNegativePrice, "tier " + n + " has negative price " + itoa(t.price));
    prev = t.upTo;
  }
  return null;
}

function checkQuantity(quantity: i64, per: i64): RuleError | null {
  if (quantity < 0) return new RuleError(CodeNegativeQuantity, "negative quantity " + itoa(quantity));
  if (per <= 0) return new RuleError(CodeInvalidArgument, "price unit of " + itoa(per) + " quantity units: must be positive");
  return null;
}

function beyond(quantity: i64, tiers: Tier[]): RuleError {
  return new RuleError(CodeInvalidArgument, "quantity " + itoa(quantity) + " exceeds the last tier, which ends at " + itoa(tiers[tiers.length - 1].upTo));
}

/** The result of graduated: bands and their total, or an error. */
export class Graduation {
  constructor(public bands: Band[], public total: i64, public err: RuleError | null) {}
}

/** graduated prices a quantity with incremental tiers, one rounded band per tier reached (money.Graduated). */
export function graduated(quantity: i64, tiers: Tier[], per: i64, mode: u8): Graduation {
  let e = checkQuantity(quantity, per);
  if (e == null) e = checkTiers(tiers);
  if (e != null) return new Graduation([], 0, e);
  if (quantity > tiers[tiers.length - 1].upTo) return new Graduation([], 0, beyond(quantity, tiers));
  const bands: Band[] = [];
  let total: i64 = 0;
  let prev: i64 = 0;
  for (let i = 0; i < tiers.length; i++) {
    const t = tiers[i];
    if (quantity <= prev) break;
    const inTier = (quantity < t.upTo ? quantity : t.upTo) - prev;
    const amount = mulDiv(inTier, t.price, per, mode);
    if (amount.err != null) {
      const err = amount.err!;
      return new Graduation([], 0, new RuleError(err.code, "tier " + (i + 1).toString() + ": " + err.message));
    }
    const s = add(total, amount.value);
    if (s.err != null) return new Graduation([], 0, s.err);
    total = s.value;
    bands.push(new Band(i, inTier, t.price, amount.value));
    prev = t.upTo;
  }
  return new Graduation(bands, total, null);
}

/** The result of volume: one band, or an error. */
export class VolumeResult {
  constructor(public band: Band, public err: RuleError | null) {}
}

/** volume prices the whole quantity at the tier it falls in (money.Volume). */
export function volume(quantity: i64, tiers: Tier[], per: i64, mode: u8): VolumeResult {
  const none = new Band(0, 0, 0, 0);
  let e = checkQuantity(quantity, per);
  if (e == null) e = checkTiers(tiers);
  if (e != null) return new VolumeResult(none, e);
  for (let i = 0; i < tiers.length; i++) {
    const t = tiers[i];
    if (quantity <= t.upTo) {
      const amount = mulDiv(quantity, t.price, per, mode);
      if (amount.err != null) return new VolumeResult(none, amount.err);
      return new VolumeResult(new Band(i, quantity, t.price, amount.value), null);
    }
  }
  return new VolumeResult(none, beyond(quantity, tiers));
}

/** The result of packaged: the package count and amount, or an error. */
export class Packages {
  constructor(public packages: i64, public amount: i64, public err: RuleError | null) {}
}

/** packaged prices ceil(quantity ÷ size) packages at price each (money.Package). */
export function packaged(quantity: i64, size: i64, price: i64): Packages {
  if (quantity < 0) return new Packages(0, 0, new RuleError(CodeNegativeQuantity, "negative quantity " + itoa(quantity)));
  if (size <= 0) return new Packages(0, 0, new RuleError(CodeInvalidArgument, "package size " + itoa(size) + ": must be positive"));
  if (price < 0) return new Packages(0, 0, new RuleError(CodeNegativePrice, "negative package price " + itoa(price)));
  let packages = quantity / size;
  if (quantity % size != 0) packages++;
  const amount = mul(packages, price);
  if (amount.err != null) {
    return new Packages(0, 0, new RuleError(CodeOverflow, itoa(packages) + " packages at " + itoa(price) + ": " + amount.err!.message));
  }
  return new Packages(packages, amount.value, null);
}
