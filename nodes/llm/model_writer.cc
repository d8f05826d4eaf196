#include "nodes/llm/model_writer.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <unordered_map>

#include "nodes/llm/gpt2_bytes.h"

namespace refinery::llm {

int VocabSize(const RandomLlamaSpec& spec) {
  if (!spec.bpe_pre.empty()) return int(spec.bpe_tokens.size() + spec.control_pieces.size());
  return 3 + 256 + int(spec.pieces.size() + spec.control_pieces.size());
}

namespace {

// The tokenizer keys: SentencePiece (<unk>, <s>, </s>, byte tokens, pieces) or byte-level BPE.
void WriteTokenizer(const RandomLlamaSpec& s, GgufWriter& w) {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  auto add = [&](std::string token, float score, int32_t type) {
    tokens.push_back(std::move(token));
    scores.push_back(score);
    types.push_back(type);
  };
  if (!s.bpe_pre.empty()) {
    for (const std::string& bytes : s.bpe_tokens) add(Gpt2Spelling(bytes), 0, 1);
  } else {
    add("<unk>", 0, 2);
    add("<s>", 0, 3);
    add("</s>", 0, 3);
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", b);
      add(name, 0, 6);
    }
    for (size_t i = 0; i < s.pieces.size(); ++i)
      add(s.pieces[i], i < s.scores.size() ? s.scores[i] : -float(i), 1);
  }
  for (const std::string& control : s.control_pieces) add(control, 0, 3);
  if (!s.chat_template.empty()) w.SetString("tokenizer.chat_template", s.chat_template);
  w.SetStrings("tokenizer.ggml.tokens", tokens);
  w.SetF32s("tokenizer.ggml.scores", scores);
  w.SetI32s("tokenizer.ggml.token_type", types);
  if (s.bpe_pre.empty()) {
    w.SetString("tokenizer.ggml.model", "llama");
    w.SetU32("tokenizer.ggml.bos_token_id", 1);
    w.SetU32("tokenizer.ggml.eos_token_id", 2);
    w.SetU32("tokenizer.ggml.unknown_token_id", 0);
    return;
  }
  w.SetString("tokenizer.ggml.model", "gpt2");
  w.SetString("tokenizer.ggml.pre", s.bpe_pre);
  std::vector<std::string> merges;
  for (const auto& [left, right] : s.bpe_merges)
    merges.push_back(Gpt2Spelling(left) + " " + Gpt2Spelling(right));
  w.SetStrings("tokenizer.ggml.merges", merges);
  for (auto [key, piece] : {std::pair{"tokenizer.ggml.bos_token_id", &s.bos_piece},
                            {"tokenizer.ggml.eos_token_id", &s.eos_piece}}) {
    const auto it = std::find(s.control_pieces.begin(), s.control_pieces.end(), *piece);
    if (!piece->empty() && it != s.control_pieces.end())
      w.SetU32(key, uint32_t(s.bpe_tokens.size() + size_t(it - s.control_pieces.begin())));
  }
  // Llama 3 files ask for BOS (llama.cpp's default for gpt2 tokenizers is none).
  if (!s.bos_piece.empty()) w.SetBool("tokenizer.ggml.add_bos_token", true);
}

}  // namespace

GgufWriter RandomLlama(const RandomLlamaSpec& s) {
  GgufWriter w;
  const int vocab = VocabSize(s), head_dim = s.dim / s.heads, kv_dim = s.kv_heads * head_dim;
  const std::string k = s.arch + ".";
  w.SetString("general.architecture", s.arch);
  w.SetString("general.name", "refinery-random-" + s.arch);
  w.SetU32(k + "context_length", uint32_t(s.context));
  w.SetU32(k + "embedding_length", uint32_t(s.dim));
  w.SetU32(k + "feed_forward_length", uint32_t(s.hidden));
  w.SetU32(k + "block_count", uint32_t(s.layers));
  w.SetU32(k + "attention.head_count", uint32_t(s.heads));
  w.SetU32(k + "attention.head_count_kv", uint32_t(s.kv_heads));
  w.SetU32(k + "rope.dimension_count", uint32_t(head_dim));
  w.SetF32(k + "rope.freq_base", s.rope_base);
  w.SetF32(k + "attention.layer_norm_rms_epsilon", 1e-5f);
  if (s.rope_scaling_factor > 0) {
    w.SetString(k + "rope.scaling.type", "linear");
    w.SetF32(k + "rope.scaling.factor", s.rope_scaling_factor);
  }
  WriteTokenizer(s, w);

  std::mt19937_64 rng(s.seed);
  std::normal_distribution<float> normal(0.0f, s.stddev);
  auto random = [&](size_t n) {
    std::vector<float> v(n);
    for (float& x : v) x = normal(rng);
    return v;
  };
  // Norm weights near 1, so layers differ a little.
  auto norm = [&](size_t n) {
    std::vector<float> v(n);
    for (float& x : v) x = 1.0f + normal(rng);
    return v;
  };
  const auto d = uint64_t(s.dim), h = uint64_t(s.hidden), kv = uint64_t(kv_dim),
             V = uint64_t(vocab);
  w.AddTensor("token_embd.weight", {d, V}, random(d * V),
              s.type == GgmlType::kQ8_0 ? GgmlType::kF32 : s.type);
  w.AddTensor("output_norm.weight", {d}, norm(d));
  if (!s.rope_freq_factors.empty())
    w.AddTensor("rope_freqs.weight", {uint64_t(s.rope_freq_factors.size())}, s.rope_freq_factors);
  if (!s.tied_output) w.AddTensor("output.weight", {d, V}, random(d * V), s.type);
  for (int l = 0; l < s.layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    w.AddTensor(p + "attn_norm.weight", {d}, norm(d));
    w.AddTensor(p + "attn_q.weight", {d, d}, random(d * d), s.type);
    w.AddTensor(p + "attn_k.weight", {d, kv}, random(d * kv), s.type);
    w.AddTensor(p + "attn_v.weight", {d, kv}, random(d * kv), s.type);
    if (s.arch == "qwen2") {  // biases of the size of the activations they are added to
      w.AddTensor(p + "attn_q.bias", {d}, random(d));
      w.AddTensor(p + "attn_k.bias", {kv}, random(kv));
      w.AddTensor(p + "attn_v.bias", {kv}, random(kv));
    }
    w.AddTensor(p + "attn_output.weight", {d, d}, random(d * d), s.type);
    w.AddTensor(p + "ffn_norm.weight", {d}, norm(d));
    w.AddTensor(p + "ffn_gate.weight", {d, h}, random(d * h), s.type);
    w.AddTensor(p + "ffn_up.weight", {d, h}, random(d * h), s.type);
    w.AddTensor(p + "ffn_down.weight", {h, d}, random(h * d), s.type);
  }
  return w;
}

void TrainSpmPieces(const std::string& text, int merges, std::vector<std::string>* pieces,
                    std::vector<float>* scores) {
  static const std::string kSpace = "\xE2\x96\x81";
  // Word frequencies; each word is a sequence of symbols (UTF-8 characters), the first carrying
  // the word-start marker.
  std::map<std::string, int> words;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) ++words[cur];
    cur.clear();
  };
  for (char ch : text) {
    if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r')
      flush();
    else
      cur.push_back(ch);
  }
  flush();
  struct Word {
    std::vector<std::string> symbols;
    int count;
  };
  std::vector<Word> corpus;
  std::set<std::string> seen;
  for (const auto& [word, count] : words) {
    Word wd{{kSpace}, count};
    for (size_t i = 0; i < word.size();) {
      const unsigned char c = static_cast<unsigned char>(word[i]);
      const size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      wd.symbols.push_back(word.substr(i, len));
      i += len;
    }
    corpus.push_back(std::move(wd));
  }
  // Single characters first (the SPM merge needs every piece reachable by merging pairs).
  std::map<std::string, int> chars;
  for (const Word& wd : corpus)
    for (const std::string& sym : wd.symbols) chars[sym] += wd.count;
  for (const auto& [sym, count] : chars) {
    if (sym.size() == 1 && static_cast<unsigned char>(sym[0]) < 0x80 && seen.insert(sym).second) {
      pieces->push_back(sym);
      scores->push_back(0.0f);
    }
  }
  if (seen.insert(kSpace).second) {
    pieces->push_back(kSpace);
    scores->push_back(0.0f);
  }
  for (int m = 0; m < merges; ++m) {
    std::unordered_map<std::string, int> pairs;
    for (const Word& wd : corpus) {
      for (size_t i = 0; i + 1 < wd.symbols.size(); ++i)
        pairs[wd.symbols[i] + '\x01' + wd.symbols[i + 1]] += wd.count;
    }
    std::string best;
    int best_count = 1;
    for (const auto& [pair, count] : pairs) {
      if (count > best_count || (count == best_count && !best.empty() && pair < best)) {
        best = pair;
        best_count = count;
      }
    }
    if (best.empty()) break;
    const size_t sep = best.find('\x01');
    const std::string left = best.substr(0, sep), right = best.substr(sep + 1),
                      merged = left + right;
    for (Word& wd : corpus) {
      std::vector<std::string> out;
      for (size_t i = 0; i < wd.symbols.size(); ++i) {
        if (i + 1 < wd.symbols.size() && wd.symbols[i] == left && wd.symbols[i + 1] == right) {
          out.push_back(merged);
          ++i;
        } else {
          out.push_back(wd.symbols[i]);
        }
      }
      wd.symbols = std::move(out);
    }
    if (seen.insert(merged).second) {
      pieces->push_back(merged);
      scores->push_back(-float(m + 1));
    }
  }
}

}  // namespace refinery::llm
