// The ABI v1 exports (host/ABI.md). A rule's entry file re-exports them:
//
//   export { fm_abi_v1, fm_alloc, fm_bill } from "<kit>/assembly/abi";
//
// and registers its function at the top level: register(bill).
import { Input } from "./input";
import { Result, refuse } from "./bill";
import { RuleError, CodeNoRule, CodeInvalidBill } from "./errors";
import { decodeInput } from "./decode";
import { Bytes, appendBill, appendError } from "./encode";

/** A rule: the input in, a bill or a refusal out. */
export type RuleFunc = (input: Input) => Result;

function noRule(input: Input): Result {
  return refuse(new RuleError(CodeNoRule, "the module has no rule: call register in its entry file"));
}

let registered: RuleFunc = noRule;

/** register sets the rule's function: call it once, at the top level of the entry file. */
export function register(fn: RuleFunc): void {
  registered = fn;
}

/**
 * run runs fn over len bytes of input at ptr exactly as the Go SDK's rule.Run
 * does: decode, call, check the bill, encode the bill or the error.
 */
export function run(fn: RuleFunc, ptr: usize, len: i32): Bytes {
  const out = new Bytes();
  const d = decodeInput(ptr, len);
  if (d.err != null) {
    appendError(out, d.err!.code, d.err!.message);
    return out;
  }
  const r = fn(d.input!);
  if (r.err != null) {
    appendError(out, r.err!.code, r.err!.message);
    return out;
  }
  if (r.bill == null) {
    appendError(out, CodeInvalidBill, "the rule returned neither a bill nor an error");
    return out;
  }
  const bad = r.bill!.check();
  if (bad != null) {
    appendError(out, bad.code, bad.message);
    return out;
  }
  appendBill(out, r.bill!);
  return out;
}

// inputBuf and output keep what the host reads and writes reachable. The host
// restores the initialized snapshot before every call: nothing survives one.
let inputBuf: ArrayBuffer = new ArrayBuffer(1);
let output: Bytes = new Bytes();

/** fm_abi_v1 declares ABI version 1; never called. */
export function fm_abi_v1(): void {}

/** fm_alloc returns size writable bytes for the input. */
export function fm_alloc(size: u32): usize {
  inputBuf = new ArrayBuffer(size == 0 ? 1 : <i32>size);
  return changetype<usize>(inputBuf);
}

/** fm_bill runs the registered rule; returns (out_ptr << 32) | out_len. */
export function fm_bill(ptr: usize, len: u32): u64 {
  output = run(registered, ptr, <i32>len);
  return (<u64>output.buf.dataStart << 32) | <u64>output.length;
}
