#include "nodes/text/tiktoken_encoding.h"

#include <cstdlib>
#include <map>
#include <mutex>

#include "graph/io/utf8.h"
#include "nodes/text/piece_batch.h"
#include "nodes/text/split_patterns.h"

#ifndef REFINERY_SOURCE_VOCAB_DIR
#define REFINERY_SOURCE_VOCAB_DIR ".cache/vocab"
#endif

namespace refinery::text {

namespace {

const std::vector<EncodingInfo>& Infos() {
  static const std::vector<EncodingInfo> infos = {
      {"r50k_base",
       "r50k_base.tiktoken",
       "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
       kR50kPattern,
       {{"<|endoftext|>", 50256}}},
      {"p50k_base",
       "p50k_base.tiktoken",
       "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
       kR50kPattern,
       {{"<|endoftext|>", 50256}}},
      {"cl100k_base",
       "cl100k_base.tiktoken",
       "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
       kCl100kPattern,
       {{"<|endoftext|>", 100257},
        {"<|fim_prefix|>", 100258},
        {"<|fim_middle|>", 100259},
        {"<|fim_suffix|>", 100260},
        {"<|endofprompt|>", 100276}}},
      {"o200k_base",
       "o200k_base.tiktoken",
       "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
       kO200kPattern,
       {{"<|endoftext|>", 199999}, {"<|endofprompt|>", 200018}}},
  };
  return infos;
}

}  // namespace

SpecialPolicy SpecialPolicyFrom(const std::string& mode, const std::vector<std::string>& allowed) {
  if (!allowed.empty()) return {SpecialPolicy::kAllowList, allowed};
  if (mode == "allow") return {SpecialPolicy::kAllowAll, {}};
  if (mode == "ordinary") return {SpecialPolicy::kOrdinary, {}};
  return {SpecialPolicy::kError, {}};
}

void BindEncodingOptions(OptionBinding<EncodingOptions>& bind) {
  bind.Enum("encoding", &EncodingOptions::encoding, "cl100k_base", EncodingNames(),
            "tiktoken encoding")
      .String("vocab_dir", &EncodingOptions::vocab_dir, "",
              "rank files directory (default: $REFINERY_VOCAB_DIR or .cache/vocab)");
}

StatusOr<std::shared_ptr<const TiktokenEncoding>> LoadEncoding(const EncodingOptions& options) {
  return TiktokenEncoding::Get(options.encoding, options.vocab_dir);
}

const EncodingInfo* FindEncodingInfo(std::string_view name) {
  for (const EncodingInfo& i : Infos()) {
    if (i.name == name) return &i;
  }
  return nullptr;
}

std::vector<std::string> EncodingNames() {
  std::vector<std::string> names;
  for (const EncodingInfo& i : Infos()) names.push_back(i.name);
  return names;
}

std::string DefaultVocabDir() {
  if (const char* env = std::getenv("REFINERY_VOCAB_DIR"); env && *env) return env;
  return REFINERY_SOURCE_VOCAB_DIR;
}

TiktokenEncoding::TiktokenEncoding(EncodingInfo info, BpeVocabulary vocab,
                                   std::unique_ptr<Pretokenizer> split)
    : info_(std::move(info)), vocab_(std::move(vocab)), split_(std::move(split)) {}

StatusOr<std::shared_ptr<const TiktokenEncoding>> TiktokenEncoding::FromParts(EncodingInfo info,
                                                                              BpeVocabulary vocab) {
  StatusOr<std::unique_ptr<Pretokenizer>> split = Pretokenizer::Compile(info.pattern);
  if (!split.ok()) return split.status();
  return std::shared_ptr<const TiktokenEncoding>(
      new TiktokenEncoding(std::move(info), std::move(vocab), std::move(split).value()));
}

StatusOr<std::shared_ptr<const TiktokenEncoding>> TiktokenEncoding::Get(
    const std::string& name, const std::string& vocab_dir) {
  const EncodingInfo* info = FindEncodingInfo(name);
  if (info == nullptr) return Status::NotFound("unknown encoding '" + name + "'");
  const std::string dir = vocab_dir.empty() ? DefaultVocabDir() : vocab_dir;
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const TiktokenEncoding>> loaded;
  std::lock_guard lock(mu);
  const std::string key = dir + "/" + name;
  if (auto it = loaded.find(key); it != loaded.end()) return it->second;
  StatusOr<BpeVocabulary> vocab = BpeVocabulary::Load(dir + "/" + info->file, info->sha256);
  if (!vocab.ok()) return vocab.status();
  StatusOr<std::shared_ptr<const TiktokenEncoding>> enc =
      FromParts(*info, std::move(vocab).value());
  if (enc.ok()) loaded.emplace(key, *enc);
  return enc;
}

template <typename Ordinary, typename Special>
Status TiktokenEncoding::Walk(std::string_view text, const SpecialPolicy& policy,
                              Ordinary&& ordinary, Special&& special) const {
  if (policy.mode == SpecialPolicy::kOrdinary) {
    ordinary(text);
    return Status::Ok();
  }
  size_t start = 0;  // start of the pending ordinary segment
  for (size_t pos = text.find("<|"); pos != std::string_view::npos; pos = text.find("<|", pos)) {
    const std::pair<std::string, uint32_t>* hit = nullptr;
    for (const auto& s : info_.specials) {
      if (text.compare(pos, s.first.size(), s.first) == 0) {
        hit = &s;
        break;
      }
    }
    if (hit == nullptr) {
      pos += 2;
      continue;
    }
    bool allowed = policy.mode == SpecialPolicy::kAllowAll;
    for (const std::string& a : policy.allowed) allowed = allowed || a == hit->first;
    if (!allowed) {
      return Status::InvalidArgument("text contains the special token " + hit->first + " at byte " +
                                     std::to_string(pos) +
                                     "; allow it (special: allow) or encode it as text "
                                     "(special: ordinary)");
    }
    ordinary(text.substr(start, pos - start));
    special(hit->second);
    pos += hit->first.size();
    start = pos;
  }
  ordinary(text.substr(start));
  return Status::Ok();
}

namespace {

// Splits `text` into pieces and adds them to `batch`, calling flush(batch) whenever it is full
// and once at the end (see PieceBatch).
template <typename Flush>
void BatchPieces(const Pretokenizer& split, PieceBatch& batch, std::string_view text,
                 Flush&& flush) {
  split.Split(text, [&](std::string_view piece) {
    if (batch.Add(piece)) flush(batch);
  });
  flush(batch);
}

}  // namespace

void TiktokenEncoding::EncodeOrdinary(std::string_view text, std::vector<uint32_t>* out) const {
  const std::string valid = utf8::IsValidUtf8(text) ? std::string() : utf8::ToValidUtf8(text);
  const std::string_view input = valid.empty() ? text : std::string_view(valid);
  PieceBatch batch(vocab_);
  BatchPieces(*split_, batch, input, [&](PieceBatch& b) { b.FlushInto(out); });
}

size_t TiktokenEncoding::CountOrdinary(std::string_view text) const {
  const std::string valid = utf8::IsValidUtf8(text) ? std::string() : utf8::ToValidUtf8(text);
  const std::string_view input = valid.empty() ? text : std::string_view(valid);
  size_t n = 0;
  PieceBatch batch(vocab_);
  BatchPieces(*split_, batch, input, [&](PieceBatch& b) { n += b.FlushCount(); });
  return n;
}

StatusOr<std::vector<uint32_t>> TiktokenEncoding::Encode(std::string_view text,
                                                         const SpecialPolicy& policy) const {
  std::vector<uint32_t> ids;
  ids.reserve(text.size() / 3 + 1);
  Status s = Walk(
      text, policy, [&](std::string_view seg) { EncodeOrdinary(seg, &ids); },
      [&](uint32_t id) { ids.push_back(id); });
  if (!s.ok()) return s;
  return ids;
}

StatusOr<size_t> TiktokenEncoding::Count(std::string_view text, const SpecialPolicy& policy) const {
  size_t n = 0;
  Status s = Walk(
      text, policy, [&](std::string_view seg) { n += CountOrdinary(seg); }, [&](uint32_t) { ++n; });
  if (!s.ok()) return s;
  return n;
}

std::string TiktokenEncoding::Decode(std::span<const uint32_t> ids) const {
  std::string out;
  for (uint32_t id : ids) {
    std::string_view bytes = vocab_.Bytes(id);
    if (bytes.empty()) {
      for (const auto& s : info_.specials) {
        if (s.second == id) bytes = s.first;
      }
    }
    out.append(bytes);
  }
  return out;
}

}  // namespace refinery::text

namespace refinery::text {

std::string TiktokenEncoding::DecodeText(std::span<const uint32_t> ids) const {
  return utf8::ToValidUtf8(Decode(ids));
}

}  // namespace refinery::text
