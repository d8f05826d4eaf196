// Writes tests/data/tokenizer/<encoding>.golden: one case per line, "base64(utf8 text)\tids".
// Reference: js-tiktoken (run: npm install && node generate.mjs [shared-dir]). Run again only
// when the corpus below changes; the golden files are committed.
//
// One correction: JavaScript's \s also matches U+FEFF, which tiktoken's Rust regex (Unicode
// White_Space) does not, so js-tiktoken splits text with a BOM differently from tiktoken. The
// patterns are run here with \s spelt out as Unicode White_Space, which is what tiktoken means.
import { Tiktoken } from "js-tiktoken/lite";
import fs from "node:fs";
import path from "node:path";

const out = path.resolve(import.meta.dirname, "../../../tests/data/tokenizer");
const shared = process.argv[2];

const cases = [
  "", "a", " ", "hello world", "Hello, World!", "  leading and trailing  ", "\n", "\r\n", "\n\n\n",
  "The quick brown fox jumps over the lazy dog.",
  "I'm sure you'll see they've done what we'd said. It's HE'S and SHE'LL, don't.",
  "1234567890 12 123 1234 12345 3.14159 -42 1e10 0x1F 1,000,000",
  "a\tb\t\tc   d    e\n\n  f",
  "line one\r\nline two\r\n\r\nline four\r\n",
  "trailing spaces   ", "trailing newline spaces \n   ", "  \n  \n",
  "def f(x):\n    return x * 2  # double\n\nif __name__ == '__main__':\n    print(f(21))\n",
  "for (int i = 0; i < n; ++i) { sum += a[i]; }\n",
  "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
  "https://example.com/path?query=1&b=2#frag",
  "我们的测试包括中文文本，以及标点符号。", "日本語のテキストとカタカナ、ひらがな。", "한국어 텍스트도 있습니다.",
  "Привет, мир! Это тест на кириллице.", "مرحبا بالعالم، هذا اختبار.", "Γειά σου Κόσμε", "สวัสดีชาวโลก",
  "emoji 🚀🔥👍🏽 family 👨‍👩‍👧‍👦 flag 🇫🇷 heart ❤️", "combining: e\u0301 a\u0308 n\u0303 o\u0328\u0301",
  "Zalgo: H\u0336\u0313e\u0337\u0301l\u0334l\u0338o\u0335", "nbsp\u00a0here\u2003em\u3000ideo",
  "supercalifragilisticexpialidocious", "Pneumonoultramicroscopicsilicovolcanoconiosis",
  "a".repeat(300), "ab".repeat(200), " ".repeat(100), "\n".repeat(50), "😀".repeat(40),
  "x".repeat(1000) + " " + "9".repeat(50),
  "<|endoftext|> looks special but is ordinary text here? no: encoded with disallowed=[]",
  "MiXeD CaSe WoRdS and ALLCAPS and camelCaseWords and snake_case_words",
  "O'Neil's friend's 'quoted' ''double'' ’curly’",
  "Mr. Smith paid $1,234.56 on 2024-01-15 at 10:30am (UTC+2).",
  "tab\tseparated\tvalues\n1\t2\t3\n",
  "\u0000\u0001\u0007\u001b[0m control chars",
  "mix 中文 and English and 123 数字",
  "...!!!???---___===+++***",
  "\t\t\tindented\n\t\t\t\tmore",
];

function sharedCases() {
  if (!shared) return [];
  const out = [];
  for (const [file, every, size] of [["text/multilingual.txt", 3000, 1200], ["text/fortunes.txt", 120000, 1500],
                                      ["text/linux-doc.txt", 800000, 2000], ["text/jargon.txt", 100000, 1500]]) {
    const p = path.join(shared, "data", file);
    if (!fs.existsSync(p)) continue;
    const text = fs.readFileSync(p, "utf8");
    for (let i = 0; i + size < text.length; i += every) out.push(text.slice(i, i + size));
  }
  return out;
}

const all = cases.concat(sharedCases());
fs.mkdirSync(out, { recursive: true });
const WS = "\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
function rustWhitespace(pattern) {
  return pattern.replaceAll("[^\\s", "[^" + WS).replaceAll("\\S", "[^" + WS + "]").replaceAll("\\s", "[" + WS + "]");
}

for (const name of ["r50k_base", "p50k_base", "cl100k_base", "o200k_base"]) {
  const ranks = (await import(`js-tiktoken/ranks/${name}`)).default;
  const enc = new Tiktoken({ ...ranks, pat_str: rustWhitespace(ranks.pat_str) });
  const lines = all.map((t) => Buffer.from(t, "utf8").toString("base64") + "\t" + enc.encode(t, [], []).join(" "));
  fs.writeFileSync(path.join(out, name + ".golden"), lines.join("\n") + "\n");
  console.log(name, lines.length, "cases");
}
