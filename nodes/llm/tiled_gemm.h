// y[m][offset + n] = x[m] . W[n] for a step of many rows (a prompt): the N weight rows are cut in
// equal tiles of at most 4 MB of floats, at least one per thread, the tiles shared out across
// `arena`'s threads, and each tile multiplied by one single-threaded oneDNN sgemm. Each tile's
// weights come from `source`: a pointer into float weights, or a scratch buffer the source fills by
// dequantising blocks, so a quantized matrix is expanded one tile at a time and never as a whole.
// Why tiles across TBB threads, not oneDNN's own OpenMP threads: oneDNN's 2-thread sgemm on these
// shapes scaled 1.3x (llm_bench, 128-row prompt, 114.6 M model), and TBB workers still spinning
// after a parallel_for compete with OpenMP's threads for the same cores.
#pragma once

#include <tbb/task_arena.h>

#include <functional>

namespace refinery::llm {

// Returns rows [first, first + count) of W as [count][K] floats; `scratch` has room for them
// (null when the caller said the source needs none: it points into float weights).
using TileSource = std::function<const float*(int first, int count, float* scratch)>;

void TiledGemm(const float* x, int M, int K, int N, float* y, int y_stride, int offset,
               tbb::task_arena* arena, const TileSource& source, bool source_needs_scratch = true);

}  // namespace refinery::llm
