// The standard ECS billing rule (rules/ecs, in Go) written in AssemblyScript
// with the fedmeter kit: the same bills and the same errors, byte for byte, on
// the ECS rule's golden vectors (rules/ecs/testdata/vectors). See rules/ecs
// for what it bills; only the gas differs.
import { Input, Result, Line, newBill, billed, refuse, wrap, register, money } from "../../../sdk-rules/assemblyscript/assembly";
export { fm_abi_v1, fm_alloc, fm_bill } from "../../../sdk-rules/assemblyscript/assembly/abi";

class Item {
  constructor(public spec: string, public price: string, public line: string, public unit: string) {}
}

const items: Item[] = [
  new Item("vcpu", "vcpu_hour", "vcpu", "vcpu_second"),
  new Item("memory_gib", "memory_gib_hour", "memory", "gib_second"),
  new Item("system_disk_gib", "disk_gib_hour", "system_disk", "gib_second"),
  new Item("data_disk_gib", "disk_gib_hour", "data_disk", "gib_second"),
  new Item("public_ips", "public_ip_hour", "public_ip", "ip_second"),
];

function bill(input: Input): Result {
  let e = input.knownSpec(["vcpu", "memory_gib", "system_disk_gib", "data_disk_gib", "public_ips"]);
  if (e != null) return refuse(e);
  e = input.knownMetrics(["egress_gib", "cpu_seconds"]);
  if (e != null) return refuse(e);
  const seconds = input.seconds();
  if (seconds.err != null) return refuse(seconds.err!);
  const b = newBill(input);
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    const price = input.unitPrice(it.price);
    if (price.err != null) return refuse(price.err!);
    const size = input.spec(it.spec);
    if (size.err != null) return refuse(size.err!);
    if (size.value == 0) continue;
    const quantity = money.mul(size.value, seconds.value);
    if (quantity.err != null) return refuse(wrap(quantity.err!, it.line + " quantity (" + it.spec + " × seconds)"));
    const hourly = money.mul(price.value, size.value);
    if (hourly.err != null) return refuse(wrap(hourly.err!, it.line + " hourly amount (" + it.price + " × " + it.spec + ")"));
    const amount = money.prorate(hourly.value, seconds.value, 3600, money.HalfUp);
    if (amount.err != null) return refuse(wrap(amount.err!, it.line + " amount"));
    e = b.add(new Line(it.line, quantity.value, it.unit, 0, amount.value));
    if (e != null) return refuse(e);
  }
  const cpu = input.metric("cpu_seconds");
  if (cpu.err != null) return refuse(cpu.err!);
  const egress = input.metric("egress_gib");
  if (egress.err != null) return refuse(egress.err!);
  if (egress.value == 0) return billed(b);
  const price = input.unitPrice("egress_gib");
  if (price.err != null) return refuse(price.err!);
  const amount = money.mul(egress.value, price.value);
  if (amount.err != null) return refuse(wrap(amount.err!, "egress amount (egress_gib × price)"));
  e = b.add(new Line("egress", egress.value, "gib", price.value, amount.value));
  if (e != null) return refuse(e);
  return billed(b);
}

register(bill);
