// Writes GGUF files with random weights in the shape of each supported family: for tests
// (several head counts, GQA ratios, tied or separate outputs; llama and qwen2 tensors and keys;
// SentencePiece or byte-level BPE tokenizers) and for tools/make-tiny-model (a model that runs
// end to end on a fresh machine). Weights are normal with a standard deviation that keeps
// activations in range (0.02, as GPT-2's initialisation); norms are 1.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "graph/status.h"
#include "nodes/llm/gguf.h"

namespace refinery::llm {

struct RandomLlamaSpec {
  // general.architecture: "llama", or "qwen2" (qwen2.* keys and q/k/v bias tensors).
  std::string arch = "llama";
  int dim = 64;
  int hidden = 172;
  int layers = 2;
  int heads = 8;
  int kv_heads = 4;
  int context = 256;
  bool tied_output = false;
  uint64_t seed = 1;
  float stddev = 0.02f;
  float rope_base = 10000.0f;
  // Llama 3 rope scaling: written as the rope_freqs tensor (head_dim / 2 values) when set.
  std::vector<float> rope_freq_factors;
  // Linear rope scaling: rope.scaling.type linear and this factor, when > 0.
  float rope_scaling_factor = 0.0f;
  GgmlType type = GgmlType::kF32;
  // SentencePiece vocabulary: pieces (with U+2581 for spaces) and scores. Ids 0..2 are <unk>, <s>,
  // </s>, then 256 <0xXX> byte tokens, then these.
  std::vector<std::string> pieces;
  std::vector<float> scores;
  // Control tokens after the pieces (chat markers such as "<|im_start|>"), and the
  // tokenizer.chat_template to write (none when empty).
  std::vector<std::string> control_pieces;
  std::string chat_template;
  // Byte-level BPE (tokenizer.ggml.model gpt2) instead of SentencePiece, when bpe_pre is set:
  // tokenizer.ggml.pre, the tokens' raw bytes in id order (the writer spells them as GPT-2
  // does), the merges as raw-byte pairs, then control_pieces. BOS and EOS are the control
  // pieces named here (none when empty or absent).
  std::string bpe_pre;
  std::vector<std::string> bpe_tokens;
  std::vector<std::pair<std::string, std::string>> bpe_merges;
  std::string bos_piece, eos_piece;
};

// The vocabulary size a spec produces: 3 + 256 + pieces + control pieces (SentencePiece), or
// BPE tokens + control pieces.
int VocabSize(const RandomLlamaSpec& spec);
GgufWriter RandomLlama(const RandomLlamaSpec& spec);

// Learns `merges` SentencePiece-style BPE pieces from `text` (words split on spaces, U+2581
// marking a word start; the most frequent adjacent pair merged first), for a small real
// tokenizer. Returns pieces with scores (-merge index), ready for RandomLlamaSpec.
void TrainSpmPieces(const std::string& text, int merges, std::vector<std::string>* pieces,
                    std::vector<float>* scores);

}  // namespace refinery::llm
