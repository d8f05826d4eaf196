// LlamaTokenizer: the model's own tokenizer, from the GGUF metadata.
//
//   tokenizer.ggml.model = "llama": SentencePiece-style BPE (llama.cpp's SPM tokenizer): spaces
//     become U+2581, a space is put in front of the text (add_space_prefix, default true),
//     adjacent pieces are merged highest score first, and characters outside the vocabulary fall
//     back to <0xXX> byte tokens.
//   tokenizer.ggml.model = "gpt2": byte-level BPE with the merges list and the split regex that
//     tokenizer.ggml.pre names (gpt-2, llama3/llama-bpe, ...), run by the tiktoken-compatible
//     encoder of nodes/text.
//
//   std::vector<int32_t> ids = tok.Encode("Once upon a time", {.add_bos = true});
//   std::string text = tok.Decode(ids);
//
// Control-token text in the input ("<s>") is plain text unless `parse_special` is set, so a
// prompt cannot inject control tokens by accident.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "graph/status.h"
#include "nodes/llm/gguf.h"

namespace refinery::text {
class TiktokenEncoding;
}

namespace refinery::llm {

struct EncodeOptions {
  bool add_bos = true;
  bool parse_special = false;
  // With parse_special: control tokens are recognised only inside these [begin, end) byte
  // ranges (a chat template's markers), not in the messages around them. Null: anywhere.
  const std::vector<std::pair<size_t, size_t>>* special_ranges = nullptr;
};

class LlamaTokenizer {
 public:
  static StatusOr<LlamaTokenizer> FromGguf(const GgufFile& file);

  std::vector<int32_t> Encode(std::string_view text, EncodeOptions options = {}) const;
  // Pieces concatenated; control tokens (BOS, EOS) produce nothing.
  std::string Decode(const std::vector<int32_t>& ids) const;
  std::string Piece(int32_t id) const;

  int32_t bos() const { return bos_; }
  // The id of the control token spelled `text` (e.g. "<|im_end|>"), if the vocabulary has one.
  std::optional<int32_t> ControlId(std::string_view text) const;
  int32_t eos() const { return eos_; }
  // Whether generation ends at `id`: EOS, the file's end-of-turn and end-of-message tokens
  // (tokenizer.ggml.eot_token_id / eom_token_id), and control tokens spelled as the common
  // families' end markers (<|eot_id|>, <|im_end|>, <|end|>, <end_of_turn>, <|endoftext|>,
  // <|eom_id|>), as llama.cpp does: a Llama 3 or Qwen model stops at the end of its turn.
  bool EndsGeneration(int32_t id) const {
    return std::find(end_ids_.begin(), end_ids_.end(), id) != end_ids_.end();
  }
  size_t size() const { return tokens_.size(); }
  const std::string& model() const { return model_; }

 private:
  void EncodeSpm(std::string_view text, std::vector<int32_t>& out) const;
  void EncodeBpe(std::string_view text, std::vector<int32_t>& out) const;

  std::string model_;                // "llama" or "gpt2"
  std::vector<std::string> tokens_;  // as stored (SPM: with U+2581; gpt2: byte-mapped)
  std::vector<float> scores_;
  std::vector<int32_t> types_;  // 1 normal, 2 unknown, 3 control, 6 byte
  std::unordered_map<std::string, int32_t> index_;
  int32_t bos_ = -1, eos_ = -1, unk_ = -1;
  std::vector<int32_t> end_ids_;  // EndsGeneration
  bool add_bos_ = true;
  bool add_space_prefix_ = true;
  int32_t byte_tokens_[256];                               // SPM byte fallback, -1 when absent
  std::vector<std::pair<std::string, int32_t>> specials_;  // control tokens' text, longest first
  // gpt2: the byte-level encoder, its ranks mapped back to GGUF ids.
  std::shared_ptr<const text::TiktokenEncoding> bpe_;
  std::vector<int32_t> rank_to_id_;
  std::vector<std::string> id_bytes_;  // gpt2: raw bytes of each token
};

}  // namespace refinery::llm
