// A weight matrix [rows][cols] left in its file's block format (a view into the mapped GGUF
// file, never expanded), and the product y = x W^T with a batch of activation rows:
// each activation row is quantised once for the matrix's block kind, then every weight row is
// read once for all activation rows (a decode step's requests share each weight read).
#pragma once

#include <tbb/task_arena.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nodes/llm/quant/activations.h"
#include "nodes/llm/quant/formats.h"

namespace refinery::llm::quant {

struct Matrix {
  Type type = Type::kF32;
  int rows = 0;
  int cols = 0;
  const uint8_t* data = nullptr;  // rows * row_bytes() bytes of blocks

  size_t row_bytes() const {
    const TypeInfo& i = *Info(uint32_t(type));
    return size_t(cols) / size_t(i.block_values) * size_t(i.block_bytes);
  }
  size_t bytes() const { return row_bytes() * size_t(rows); }
  const uint8_t* row(int r) const { return data + size_t(r) * row_bytes(); }
};

// Activation rows quantised for one block kind, reused by every matrix of that kind that
// multiplies the same input (Q, K and V; gate and up).
struct QuantizedBatch {
  ActivationKind kind = ActivationKind::kQ8_0;
  const float* source = nullptr;  // what was quantised (the cache key with kind and rows)
  int rows = 0;
  std::vector<QuantizedRow> row;
};
void QuantizeBatch(ActivationKind kind, const float* x, int rows, int cols, QuantizedBatch* out);

// y[m][out_offset + n] = Σ_k W[n][k] x[m][k] for m < x.rows, n < W.rows; y rows are `y_stride`
// floats apart. Weight rows are split across `arena`'s threads (null: the calling thread only).
void MatMul(const Matrix& w, const QuantizedBatch& x, float* y, int y_stride, int out_offset,
            tbb::task_arena* arena = nullptr);

// Dequantises row r into out[cols] (embedding lookups).
void DequantizeMatrixRow(const Matrix& w, int r, float* out);
// Dequantises rows [first, first + count) into out[count][cols], split across `arena`'s threads.
void DequantizeMatrixRows(const Matrix& w, int first, int count, float* out,
                          tbb::task_arena* arena = nullptr);

}  // namespace refinery::llm::quant
