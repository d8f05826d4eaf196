// Turns shared/data/summarization/*.jsonl into graph-runner requests (document -> text,
// reference / references kept, type = set name), and runs the peer (npm ts-textrank) on the same
// documents, writing its summaries as requests for the score-only pipeline.
//
//   node prepare.mjs <shared/data/summarization> <out dir> <set> "ratio 0.4" | "count 2"
import fs from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { SorensenDiceSimilarity, DefaultTextParser, NullLogger, RelativeSummarizerConfig,
        AbsoluteSummarizerConfig, Summarizer } = require("ts-textrank");

const [dataDir, outDir, set, target] = process.argv.slice(2);
const [kind, value] = target.split(" ");
fs.mkdirSync(outDir, { recursive: true });
{
  const requests = [], peer = [];
  let peerMillis = 0;
  for (const line of fs.readFileSync(`${dataDir}/${set}.jsonl`, "utf8").split("\n")) {
    if (!line) continue;
    const r = JSON.parse(line);
    const q = { id: r.id, type: set, text: r.document };
    if (r.references) q.references = r.references;
    else q.reference = r.reference;
    requests.push(JSON.stringify(q));
    const Config = kind === "ratio" ? RelativeSummarizerConfig : AbsoluteSummarizerConfig;
    const config = new Config(Number(value), new SorensenDiceSimilarity(), new DefaultTextParser(),
                              0.85, Summarizer.SORT_OCCURENCE);
    const t0 = process.hrtime.bigint();
    const sentences = new Summarizer(config, new NullLogger()).summarize(r.document, "en");
    peerMillis += Number(process.hrtime.bigint() - t0) / 1e6;
    peer.push(JSON.stringify({ ...q, fields: { summary: sentences.join("\n") } }));
  }
  fs.writeFileSync(`${outDir}/${set}.jsonl`, requests.join("\n") + "\n");
  fs.writeFileSync(`${outDir}/${set}.peer.jsonl`, peer.join("\n") + "\n");
  console.error(`${set}: ${requests.length} documents; ts-textrank ${(requests.length / peerMillis * 1000).toFixed(1)} docs/s`);
}
