// TiktokenEncoding: exact tiktoken-compatible encoding for r50k_base (GPT-2), p50k_base,
// cl100k_base and o200k_base: the official rank files, each encoding's split regex, its special
// tokens, and tiktoken's special-token rules.
//
//   auto enc = TiktokenEncoding::Get("cl100k_base");            // loaded once per process
//   StatusOr<std::vector<uint32_t>> ids = (*enc)->Encode("hello world", SpecialPolicy{});
//   size_t n = (*enc)->Count("hello world");                     // no ids materialised
//   std::string bytes = (*enc)->Decode(*ids);
//
// Input that is not valid UTF-8 is encoded as if each invalid sequence were U+FFFD (what
// tiktoken sees after Python decodes the bytes with errors="replace"); always the same way.
// Thread safety: an encoding is immutable once loaded; use it from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "graph/node.h"
#include "graph/options.h"
#include "graph/status.h"
#include "nodes/text/bpe_vocabulary.h"
#include "nodes/text/pretokenizer.h"

namespace refinery::text {

// What to do with special-token text (e.g. "<|endoftext|>") found in the input. tiktoken's
// default is kError: such text raises unless allowed.
struct SpecialPolicy {
  enum Mode { kError, kAllowAll, kOrdinary, kAllowList };
  Mode mode = kError;
  std::vector<std::string> allowed;  // kAllowList: these become special tokens, others error
};

// From node options: `special: error|allow|ordinary` and `allowed_special: [...]` (a non-empty
// list allows just those, and the others are errors).
SpecialPolicy SpecialPolicyFrom(const std::string& mode, const std::vector<std::string>& allowed);

struct EncodingInfo {
  std::string name;
  std::string file;     // rank file name in the vocabulary directory
  std::string sha256;   // of the official rank file
  std::string pattern;  // split regex
  std::vector<std::pair<std::string, uint32_t>> specials;
};

// The four encodings' definitions; nullptr for an unknown name.
const EncodingInfo* FindEncodingInfo(std::string_view name);
std::vector<std::string> EncodingNames();

// Where rank files are looked for: $REFINERY_VOCAB_DIR, else the directory tools/fetch-vocab.sh
// fills (.cache/vocab in the source tree this was built from).
std::string DefaultVocabDir();

class TiktokenEncoding;

// The `encoding` and `vocab_dir` options every token-counting node declares, and the encoding
// they name (shared, loaded once).
struct EncodingOptions {
  std::string encoding;   // tiktoken encoding name
  std::string vocab_dir;  // "" = $REFINERY_VOCAB_DIR or .cache/vocab
};
// Declares `encoding` and `vocab_dir` (bound with OptionBinding::Group by every node that counts
// tokens).
void BindEncodingOptions(OptionBinding<EncodingOptions>& bind);
StatusOr<std::shared_ptr<const TiktokenEncoding>> LoadEncoding(const EncodingOptions& options);
// `make` for a node type T(config, options, encoding) whose Options has an `encoding` member.
template <typename T, typename Options>
typename BoundContract<Options>::Make ConstructWithEncoding() {
  return [](const NodeConfig& config, const Options& o) -> StatusOr<std::unique_ptr<Node>> {
    auto encoding = LoadEncoding(o.encoding);
    if (!encoding.ok()) return encoding.status();
    return std::unique_ptr<Node>(std::make_unique<T>(config, o, *std::move(encoding)));
  };
}

class TiktokenEncoding {
 public:
  // Loaded once per process and directory, then shared.
  static StatusOr<std::shared_ptr<const TiktokenEncoding>> Get(const std::string& name,
                                                               const std::string& vocab_dir = "");
  // Builds an encoding from parts (tests, generated vocabularies).
  static StatusOr<std::shared_ptr<const TiktokenEncoding>> FromParts(EncodingInfo info,
                                                                     BpeVocabulary vocab);

  // Fails (InvalidArgument naming the token and its offset) when the policy forbids a special.
  StatusOr<std::vector<uint32_t>> Encode(std::string_view text, const SpecialPolicy& policy) const;
  // Specials as ordinary text.
  void EncodeOrdinary(std::string_view text, std::vector<uint32_t>* out) const;
  // The number of tokens EncodeOrdinary would append, with no id list: memory stays that of one
  // batch of pieces (PieceBatch), whatever the text's length.
  size_t CountOrdinary(std::string_view text) const;
  StatusOr<size_t> Count(std::string_view text, const SpecialPolicy& policy) const;

  // Token bytes concatenated (may end inside a UTF-8 character).
  std::string Decode(std::span<const uint32_t> ids) const;
  // As text: bytes that do not form valid UTF-8 (a token sequence cut mid-character) become
  // U+FFFD, as tiktoken's decode(errors="replace").
  std::string DecodeText(std::span<const uint32_t> ids) const;
  const EncodingInfo& info() const { return info_; }
  const BpeVocabulary& vocabulary() const { return vocab_; }

 private:
  TiktokenEncoding(EncodingInfo info, BpeVocabulary vocab, std::unique_ptr<Pretokenizer> split);
  // Calls ordinary(segment) and special(id) in order, per the policy.
  template <typename Ordinary, typename Special>
  Status Walk(std::string_view text, const SpecialPolicy& policy, Ordinary&& ordinary,
              Special&& special) const;

  EncodingInfo info_;
  BpeVocabulary vocab_;
  std::unique_ptr<Pretokenizer> split_;
};

}  // namespace refinery::text
