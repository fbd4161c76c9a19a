// fedmeter's AssemblyScript rule kit: ABI v1 (host/ABI.md) with the same JSON
// input and output and the same money arithmetic as the Go SDK
// (sdk-rules/rule, sdk-rules/money). See sdk-rules/README.md.
//
// A rule's entry file (assembly/index.ts):
//
//   import { Input, Result, newBill, Line, billed, refuse, wrap, register, money } from "<kit>/assembly";
//   export { fm_abi_v1, fm_alloc, fm_bill } from "<kit>/assembly/abi";
//   function bill(input: Input): Result { ... }
//   register(bill);
export * from "./errors";
export * from "./input";
export * from "./bill";
export * from "./decode";
export * from "./encode";
export * from "./quote";
export { register, run, RuleFunc } from "./abi";
import * as money from "./money";
export { money };
