// Rewrites a llama GGUF file with its weight matrices quantized (`graph-runner quantize`): the
// per-tensor types llama-quantize chooses for the same file type (more bits for the output
// matrix and for some layers' attn_v and ffn_down; a fallback type for rows a K format cannot
// hold), metadata copied in order with general.file_type and general.quantization_version set,
// tensors in llama.cpp's order. Norms and other vectors stay F32.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "graph/status.h"
#include "nodes/llm/gguf.h"

namespace refinery::llm::quant {

struct TensorChoice {
  std::string name;
  GgmlType from, to;
};

struct QuantizeSummary {
  std::vector<TensorChoice> tensors;
  uint64_t bytes_in = 0, bytes_out = 0;
};

// File types by llama.cpp's names: F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K_S,
// Q3_K_M (Q3_K), Q3_K_L, Q4_K_S, Q4_K_M (Q4_K), Q5_K_S, Q5_K_M (Q5_K), Q6_K.
std::vector<std::string> FileTypeNames();

// The types QuantizeFile would give each tensor of `in` (in the order it writes them) and the
// sizes, without converting or writing anything.
StatusOr<QuantizeSummary> PlanQuantization(const std::string& in, std::string_view file_type);

StatusOr<QuantizeSummary> QuantizeFile(const std::string& in, const std::string& out,
                                       std::string_view file_type);

}  // namespace refinery::llm::quant
