// Encode throughput (MB/s, one thread) of the peers on the same files as tokenizer_bench:
// tiktoken's WASM build of its Rust core (npm `tiktoken`) and js-tiktoken.
//   node bench.mjs FILE... [--encoding cl100k_base,o200k_base] [--seconds 2]
import { get_encoding } from "tiktoken";
import { getEncoding } from "js-tiktoken";
import fs from "node:fs";
import path from "node:path";

const args = process.argv.slice(2);
let encodings = ["cl100k_base", "o200k_base"], seconds = 2;
const files = [];
for (let i = 0; i < args.length; ++i) {
  if (args[i] === "--encoding") encodings = args[++i].split(",");
  else if (args[i] === "--seconds") seconds = Number(args[++i]);
  else files.push(args[i]);
}

function mbps(bytes, fn) {
  let best = 0;
  const deadline = performance.now() + seconds * 1000;
  do {
    const t0 = performance.now();
    fn();
    best = Math.max(best, bytes / ((performance.now() - t0) / 1000) / 1e6);
  } while (performance.now() < deadline);
  return best;
}

for (const name of encodings) {
  const wasm = get_encoding(name);
  const js = getEncoding(name);
  console.log(`${name}:`);
  for (const file of files) {
    const text = fs.readFileSync(file, "utf8");
    const bytes = Buffer.byteLength(text);
    const w = mbps(bytes, () => wasm.encode(text, [], []));
    const j = mbps(bytes, () => js.encode(text, [], []));
    console.log(`  ${path.basename(file).padEnd(20)} ${(bytes / 1e6).toFixed(2)} MB  tiktoken(wasm) ${w.toFixed(2)} MB/s  js-tiktoken ${j.toFixed(2)} MB/s`);
  }
  wasm.free();
}
