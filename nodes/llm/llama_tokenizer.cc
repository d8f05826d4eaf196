#include "nodes/llm/llama_tokenizer.h"

#include <algorithm>
#include <cstring>
#include <queue>

#include "nodes/llm/gpt2_bytes.h"
#include "nodes/text/tiktoken_encoding.h"

namespace refinery::llm {
namespace {

constexpr int32_t kTypeControl = 3;
constexpr int32_t kTypeByte = 6;
constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581

size_t Utf8Length(unsigned char lead) {
  static const size_t lookup[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return lookup[lead >> 4];
}

std::string ReplaceAll(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  size_t start = 0;
  while (true) {
    const size_t at = s.find(from, start);
    out.append(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    out.append(to);
    start = at + from.size();
  }
}

std::string Base64(std::string_view bytes) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v =
        (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint8_t(bytes[i]) << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

// Qwen2's split (llama.cpp's adaptation of its tokenizer.json regex): cl100k's, except that
// digits are split one by one.
constexpr const char* kQwen2Split =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// SmolLM's split is two passes: every digit alone, then GPT-2's regex over the text between
// digits. As one regex: the digit alternative first, and GPT-2's `\s+(?!\S)` also ending before a
// digit (the end of a between-digits run in the two-pass form). GPT-2's ` ?\p{N}+` can never
// match in the second pass, so it is left out.
constexpr const char* kSmolLmSplit =
    "\\p{N}|'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?![^\\s\\p{N}])";

// tokenizer.ggml.pre -> the split regex (the names llama.cpp gives each regex), or "" for a
// name not known here.
std::string SplitPatternFor(const std::string& pre) {
  if (pre.empty() || pre == "default" || pre == "gpt-2" || pre == "gpt2")
    return text::FindEncodingInfo("r50k_base")->pattern;
  if (pre == "llama3" || pre == "llama-bpe" || pre == "llama-v3" || pre == "smaug-bpe" ||
      pre == "dbrx")
    return text::FindEncodingInfo("cl100k_base")->pattern;
  if (pre == "qwen2" || pre == "deepseek-r1-qwen" || pre == "stablelm2" || pre == "megrez")
    return kQwen2Split;
  if (pre == "smollm") return kSmolLmSplit;
  return "";
}

}  // namespace

StatusOr<LlamaTokenizer> LlamaTokenizer::FromGguf(const GgufFile& file) {
  LlamaTokenizer t;
  const std::string where = file.path() + ": ";
  auto model = file.String("tokenizer.ggml.model");
  if (!model)
    return Status::InvalidArgument(where + "no tokenizer (tokenizer.ggml.model is missing)");
  t.model_ = *model;
  if (t.model_ != "llama" && t.model_ != "gpt2") {
    return Status::InvalidArgument(where + "tokenizer.ggml.model '" + t.model_ +
                                   "' is not supported (llama, gpt2 are)");
  }
  const GgufValue* tokens = file.Find("tokenizer.ggml.tokens");
  if (!tokens || tokens->kind != GgufValue::kArray || tokens->strings.empty()) {
    return Status::InvalidArgument(where +
                                   "tokenizer.ggml.tokens is missing or not a list of strings");
  }
  t.tokens_ = tokens->strings;
  const size_t n = t.tokens_.size();
  if (const GgufValue* s = file.Find("tokenizer.ggml.scores"); s && s->kind == GgufValue::kArray) {
    if (s->floats.size() != n)
      return Status::InvalidArgument(
          where + "tokenizer.ggml.scores has a different length from the tokens");
    t.scores_.assign(s->floats.begin(), s->floats.end());
  } else {
    t.scores_.assign(n, 0.0f);
  }
  if (const GgufValue* s = file.Find("tokenizer.ggml.token_type");
      s && s->kind == GgufValue::kArray) {
    if (s->ints.size() != n)
      return Status::InvalidArgument(
          where + "tokenizer.ggml.token_type has a different length from the tokens");
    t.types_.assign(s->ints.begin(), s->ints.end());
  } else {
    t.types_.assign(n, 1);
  }
  auto id_key = [&](const char* key, int32_t def) -> StatusOr<int32_t> {
    auto v = file.Int(key);
    if (!v || *v == 0xFFFFFFFF || *v == -1) return def;
    if (*v < 0 || *v >= int64_t(n))
      return Status::InvalidArgument(where + key + " = " + std::to_string(*v) +
                                     " is not a token id");
    return int32_t(*v);
  };
  auto bos = id_key("tokenizer.ggml.bos_token_id", t.model_ == "llama" ? 1 : -1);
  auto eos = id_key("tokenizer.ggml.eos_token_id", t.model_ == "llama" ? 2 : -1);
  auto unk = id_key("tokenizer.ggml.unknown_token_id", t.model_ == "llama" ? 0 : -1);
  if (!bos.ok()) return bos.status();
  if (!eos.ok()) return eos.status();
  if (!unk.ok()) return unk.status();
  t.bos_ = *bos;
  t.eos_ = *eos;
  t.unk_ = *unk;
  t.add_bos_ = file.Int("tokenizer.ggml.add_bos_token").value_or(t.model_ == "llama" ? 1 : 0) != 0;
  t.add_space_prefix_ =
      file.Int("tokenizer.ggml.add_space_prefix").value_or(t.model_ == "llama" ? 1 : 0) != 0;
  for (size_t i = 0; i < n; ++i) {
    t.index_.emplace(t.tokens_[i], int32_t(i));
    // Control and user-defined tokens (type 4: added tokens such as chat markers in some files).
    if ((t.types_[i] == kTypeControl || t.types_[i] == 4) && !t.tokens_[i].empty())
      t.specials_.emplace_back(t.tokens_[i], int32_t(i));
  }
  if (t.eos_ >= 0) t.end_ids_.push_back(t.eos_);
  for (const char* key : {"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
    auto id = id_key(key, -1);
    if (!id.ok()) return id.status();
    if (*id >= 0) t.end_ids_.push_back(*id);
  }
  for (const auto& [text, id] : t.specials_) {
    for (const char* marker :
         {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>"})
      if (text == marker) t.end_ids_.push_back(id);
  }
  std::sort(t.specials_.begin(), t.specials_.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  std::fill(std::begin(t.byte_tokens_), std::end(t.byte_tokens_), -1);
  if (t.model_ == "llama") {
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", b);
      if (auto it = t.index_.find(name); it != t.index_.end()) t.byte_tokens_[b] = it->second;
    }
    return t;
  }

  // gpt2: byte-level BPE through the tiktoken-compatible encoder. A merged token's rank is its
  // merge's index (lower merges first, as in GPT-2's bpe()); single bytes rank below them.
  const std::string pre = file.String("tokenizer.ggml.pre").value_or("default");
  const std::string split = SplitPatternFor(pre);
  if (split.empty()) {
    return Status::InvalidArgument(where + "tokenizer.ggml.pre '" + pre +
                                   "' is not supported (gpt-2, llama-bpe, llama3, smaug-bpe, dbrx, "
                                   "qwen2, deepseek-r1-qwen, stablelm2, megrez, smollm are)");
  }
  const GgufValue* merges = file.Find("tokenizer.ggml.merges");
  if (!merges || merges->kind != GgufValue::kArray)
    return Status::InvalidArgument(where + "gpt2 tokenizer without tokenizer.ggml.merges");
  t.id_bytes_.resize(n);
  std::unordered_map<std::string, int32_t> id_of_bytes;
  for (size_t i = 0; i < n; ++i) {
    if (t.types_[i] == kTypeControl) continue;
    if (Gpt2Bytes(t.tokens_[i], &t.id_bytes_[i])) id_of_bytes.emplace(t.id_bytes_[i], int32_t(i));
  }
  std::string rank_file;
  std::vector<int32_t> rank_to_id;
  auto add_rank = [&](const std::string& bytes) {
    auto it = id_of_bytes.find(bytes);
    if (it == id_of_bytes.end()) return;
    rank_file += Base64(bytes) + " " + std::to_string(rank_to_id.size()) + "\n";
    rank_to_id.push_back(it->second);
    id_of_bytes.erase(it);  // each token gets one rank
  };
  for (int b = 0; b < 256; ++b) add_rank(std::string(1, char(b)));
  std::string left, right;
  for (const std::string& merge : merges->strings) {
    const size_t space = merge.find(' ');
    if (space == std::string::npos)
      return Status::InvalidArgument(where + "malformed merge '" + merge + "'");
    if (!Gpt2Bytes(merge.substr(0, space), &left) || !Gpt2Bytes(merge.substr(space + 1), &right)) {
      return Status::InvalidArgument(where + "merge '" + merge + "' is not byte-level text");
    }
    add_rank(left + right);
  }
  auto vocab = text::BpeVocabulary::Parse(rank_file, file.path());
  if (!vocab.ok()) return vocab.status();
  text::EncodingInfo info;
  info.name = file.path() + " (gpt2, pre " + pre + ")";
  info.pattern = split;
  auto encoding = text::TiktokenEncoding::FromParts(std::move(info), std::move(vocab).value());
  if (!encoding.ok()) return encoding.status();
  t.bpe_ = *encoding;
  t.rank_to_id_ = std::move(rank_to_id);
  return t;
}

void LlamaTokenizer::EncodeSpm(std::string_view raw, std::vector<int32_t>& out) const {
  const std::string text = ReplaceAll(raw, " ", kSpmSpace);
  struct Symbol {
    int prev, next;
    size_t start, len;
  };
  std::vector<Symbol> symbols;
  for (size_t i = 0; i < text.size();) {
    const size_t len = std::min(Utf8Length(static_cast<unsigned char>(text[i])), text.size() - i);
    symbols.push_back({int(symbols.size()) - 1, int(symbols.size()) + 1, i, len});
    i += len;
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;
  struct Bigram {
    int left, right;
    float score;
    size_t size;
    bool operator<(const Bigram& o) const {  // max-heap: higher score, then leftmost
      return score < o.score || (score == o.score && left > o.left);
    }
  };
  std::priority_queue<Bigram> queue;
  auto try_add = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    const std::string_view piece(text.data() + symbols[l].start, symbols[l].len + symbols[r].len);
    auto it = index_.find(std::string(piece));
    if (it == index_.end()) return;
    queue.push({l, r, scores_[size_t(it->second)], piece.size()});
  };
  for (size_t i = 1; i < symbols.size(); ++i) try_add(int(i) - 1, int(i));
  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& l = symbols[size_t(b.left)];
    Symbol& r = symbols[size_t(b.right)];
    if (l.len == 0 || r.len == 0 || l.len + r.len != b.size) continue;  // stale
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[size_t(r.next)].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }
  for (int i = 0; i >= 0; i = symbols[size_t(i)].next) {
    const Symbol& s = symbols[size_t(i)];
    const std::string piece = text.substr(s.start, s.len);
    if (auto it = index_.find(piece); it != index_.end()) {
      out.push_back(it->second);
      continue;
    }
    for (unsigned char c : piece) {  // byte fallback
      const int32_t id = byte_tokens_[c];
      out.push_back(id >= 0 ? id : unk_);
    }
  }
}

void LlamaTokenizer::EncodeBpe(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<uint32_t> ranks;
  bpe_->EncodeOrdinary(text, &ranks);
  for (uint32_t r : ranks) out.push_back(rank_to_id_[r]);
}

std::vector<int32_t> LlamaTokenizer::Encode(std::string_view text, EncodeOptions options) const {
  std::vector<int32_t> out;
  if (options.add_bos && add_bos_ && bos_ >= 0) out.push_back(bos_);
  // Fragments: text between control tokens (when parsed), each tokenized on its own; SPM puts
  // a space before a fragment that starts the text or follows a control token (llama.cpp).
  bool after_special = true;
  auto encode_fragment = [&](std::string_view fragment) {
    if (fragment.empty()) return;
    if (model_ == "llama") {
      EncodeSpm(
          add_space_prefix_ && after_special ? " " + std::string(fragment) : std::string(fragment),
          out);
    } else {
      EncodeBpe(fragment, out);
    }
    after_special = false;
  };
  size_t start = 0;
  if (options.parse_special) {
    const auto* ranges = options.special_ranges;
    size_t range = 0;  // ranges are in order: the first one not yet behind i
    for (size_t i = 0; i < text.size();) {
      bool matched = false;
      if (ranges != nullptr) {
        while (range < ranges->size() && (*ranges)[range].second <= i) ++range;
        if (range == ranges->size() || i < (*ranges)[range].first) {
          ++i;
          continue;
        }
      }
      for (const auto& [special, id] : specials_) {
        if (ranges != nullptr && i + special.size() > (*ranges)[range].second) continue;
        if (text.compare(i, special.size(), special) == 0) {
          encode_fragment(text.substr(start, i - start));
          out.push_back(id);
          after_special = true;
          i += special.size();
          start = i;
          matched = true;
          break;
        }
      }
      if (!matched) ++i;
    }
  }
  encode_fragment(text.substr(start));
  return out;
}

std::optional<int32_t> LlamaTokenizer::ControlId(std::string_view text) const {
  for (const auto& [special, id] : specials_)
    if (special == text) return id;
  return std::nullopt;
}

std::string LlamaTokenizer::Piece(int32_t id) const {
  if (id < 0 || size_t(id) >= tokens_.size()) return {};
  const int32_t type = types_[size_t(id)];
  if (type == kTypeControl) return {};
  if (model_ == "gpt2") return id_bytes_[size_t(id)];
  const std::string& token = tokens_[size_t(id)];
  if (type == kTypeByte && token.size() == 6)
    return std::string(1, char(std::stoi(token.substr(3, 2), nullptr, 16)));
  return ReplaceAll(token, kSpmSpace, " ");
}

std::string LlamaTokenizer::Decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids) out += Piece(id);
  return out;
}

}  // namespace refinery::llm
