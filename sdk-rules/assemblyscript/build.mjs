#!/usr/bin/env node
// The reproducible build of an AssemblyScript rule:
//
//   node <kit>/build.mjs [ENTRY] -o OUT.wasm [--check]
//
// ENTRY defaults to assembly/index.ts, relative to the working directory (the
// rule's folder). It compiles with the assemblyscript compiler pinned in the
// rule's package-lock.json (node_modules in the working directory) or, if the
// rule has none, the kit's own, with fixed options, and prints the module's
// SHA-256. Same sources and compiler version: same bytes, in any folder.
// --check builds twice and fails unless both agree.
import { createRequire } from "node:module";
import { createHash } from "node:crypto";
import { readFileSync, mkdirSync, existsSync, unlinkSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// FLAGS are the compiler options every rule is built with: no GC (the stub
// runtime: a call starts from the host's snapshot and allocates from a bump
// pointer), no abort import (an abort is an unreachable trap, and no file name
// or message is written into the module), full optimization.
export const FLAGS = ["--runtime", "stub", "--use", "abort=", "-O3", "--noColors"];

const kit = path.dirname(fileURLToPath(import.meta.url));

function findCompiler() {
  for (const from of [process.cwd(), kit]) {
    try {
      const req = createRequire(path.join(from, "package.json"));
      const pkg = req.resolve("assemblyscript/package.json");
      return { dir: path.dirname(pkg), version: JSON.parse(readFileSync(pkg, "utf8")).version };
    } catch {}
  }
  return null;
}

async function build(entry, out) {
  const c = findCompiler();
  if (!c) {
    throw new Error("the assemblyscript compiler is not installed: run `npm ci` in the rule's folder (or in " +
      path.relative(process.cwd(), kit) + ")");
  }
  const asc = await import(pathToFileURL(path.join(c.dir, "dist", "asc.js")).href);
  mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  let log = "";
  const sink = { write: (s) => { log += String(s); return true; } };
  const { error } = await asc.main([entry, "-o", out, ...FLAGS], { stdout: sink, stderr: sink });
  if (error) throw new Error("asc failed: " + error.message + "\n" + log.trim());
  const sha = createHash("sha256").update(readFileSync(out)).digest("hex");
  return { sha, version: c.version, log };
}

async function main(argv) {
  let entry = "assembly/index.ts", out = "", check = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-o" || a === "--out") out = argv[++i];
    else if (a === "--check") check = true;
    else if (a.startsWith("-")) throw new Error("unknown option " + a);
    else entry = a;
  }
  if (!out) throw new Error("usage: node build.mjs [ENTRY.ts] -o OUT.wasm [--check]");
  if (!existsSync(entry)) throw new Error(entry + " does not exist (run in the rule's folder)");
  const first = await build(entry, out);
  if (check) {
    const again = await build(entry, out + ".check");
    unlinkSync(out + ".check");
    if (again.sha !== first.sha) throw new Error("two builds differ: " + first.sha + " and " + again.sha);
  }
  process.stdout.write(`built ${out} with assemblyscript ${first.version}\nsha256 ${first.sha}\n`);
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write("build.mjs: " + e.message + "\n");
  process.exit(1);
});
