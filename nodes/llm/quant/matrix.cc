#include "nodes/llm/quant/matrix.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>

#include "nodes/llm/quant/dequantize.h"
#include "nodes/llm/quant/dot.h"

namespace refinery::llm::quant {

void QuantizeBatch(ActivationKind kind, const float* x, int rows, int cols, QuantizedBatch* out) {
  out->kind = kind;
  out->source = x;
  out->rows = rows;
  if (int(out->row.size()) < rows) out->row.resize(size_t(rows));
  for (int m = 0; m < rows; ++m)
    QuantizeRow(kind, x + size_t(m) * cols, cols, &out->row[size_t(m)]);
}

void MatMul(const Matrix& w, const QuantizedBatch& x, float* y, int y_stride, int out_offset,
            tbb::task_arena* arena) {
  const DotFn fast = FastDot(w.type);
  const DotRowsFn fast_rows = FastDotRows(w.type);
  const Type type = w.type;
  const size_t row_bytes = w.row_bytes();  // once: it looks the type up (1% of a decode step)
  // One activation row: the range kernel takes the task's rows in one call.
  const DotRangeFn fast_range = x.rows == 1 ? FastDotRange(w.type) : nullptr;
  auto rows = [&](int begin, int end) {
    if (fast_range != nullptr) {
      fast_range(w.data + size_t(begin) * row_bytes, row_bytes, end - begin, x.row[0],
                 y + out_offset + begin);
      return;
    }
    const QuantizedRow* group[kMaxRows];
    float out[kMaxRows];
    for (int n = begin; n < end; ++n) {
      const uint8_t* row = w.data + size_t(n) * row_bytes;
      if (fast_rows != nullptr) {
        for (int m0 = 0; m0 < x.rows; m0 += kMaxRows) {
          const int count = std::min(kMaxRows, x.rows - m0);
          for (int i = 0; i < count; ++i) group[i] = &x.row[size_t(m0 + i)];
          fast_rows(row, group, count, out);
          for (int i = 0; i < count; ++i) y[size_t(m0 + i) * y_stride + out_offset + n] = out[i];
        }
        continue;
      }
      for (int m = 0; m < x.rows; ++m) {
        const QuantizedRow& a = x.row[size_t(m)];
        y[size_t(m) * y_stride + out_offset + n] = fast ? fast(row, a) : DotReference(type, row, a);
      }
    }
  };
  if (arena == nullptr || arena->max_concurrency() <= 1) {
    rows(0, w.rows);
    return;
  }
  // 16 weight rows per task: a task reads 2-50 KB of weights, and the batch's activations stay
  // in cache across them.
  arena->execute([&] {
    tbb::parallel_for(tbb::blocked_range<int>(0, w.rows, 16),
                      [&](const tbb::blocked_range<int>& r) { rows(r.begin(), r.end()); });
  });
}

void DequantizeMatrixRow(const Matrix& w, int r, float* out) {
  DequantizeRow(w.type, w.row(r), out, w.cols);
}

void DequantizeMatrixRows(const Matrix& w, int first, int count, float* out,
                          tbb::task_arena* arena) {
  auto rows = [&](int begin, int end) {
    for (int r = begin; r < end; ++r)
      DequantizeRow(w.type, w.row(first + r), out + size_t(r) * size_t(w.cols), w.cols);
  };
  if (arena == nullptr || arena->max_concurrency() <= 1) {
    rows(0, count);
    return;
  }
  arena->execute([&] {
    tbb::parallel_for(tbb::blocked_range<int>(0, count, 8),
                      [&](const tbb::blocked_range<int>& r) { rows(r.begin(), r.end()); });
  });
}

}  // namespace refinery::llm::quant
