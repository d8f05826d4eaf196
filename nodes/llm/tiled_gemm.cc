#include "nodes/llm/tiled_gemm.h"

#include <omp.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstdint>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

namespace refinery::llm {

void TiledGemm(const float* x, int M, int K, int N, float* y, int y_stride, int offset,
               tbb::task_arena* arena, const TileSource& source, bool source_needs_scratch) {
  // Tiles as large as 4 MB of floats (sgemm is faster on wider tiles: 1 MB tiles gave 497
  // tokens/s, 4 MB 575, on the 114.6 M Q4_K_M prompt), equal in size, and as many as a multiple
  // of the thread count, so every thread gets the same share (5 tiles on 2 threads would leave
  // one thread idle for a sixth of the product).
  const int threads = arena == nullptr ? 1 : std::max(1, arena->max_concurrency());
  const int64_t max_rows = std::max<int64_t>(16, (int64_t(1) << 20) / K);
  const int64_t by_size = (N + max_rows - 1) / max_rows;
  const int wanted = int((by_size + threads - 1) / threads * threads);
  const int tile = ((N + wanted - 1) / wanted + 15) / 16 * 16;
  const int tiles = (N + tile - 1) / tile;
  auto run = [&](int begin, int end) {
    thread_local std::vector<float> scratch;
    if (source_needs_scratch) scratch.resize(size_t(tile) * size_t(K));
    float* tile_scratch = source_needs_scratch ? scratch.data() : nullptr;
    // One thread per sgemm: the parallelism is across tiles. The caller's OpenMP setting is put
    // back, since oneDNN's other products on this thread use it.
    const int previous = omp_get_max_threads();
    if (previous != 1) omp_set_num_threads(1);
    for (int t = begin; t < end; ++t) {
      const int first = t * tile, count = std::min(tile, N - first);
      const float* w = source(first, count, tile_scratch);
      dnnl::sgemm('N', 'T', M, count, K, 1.0f, x, K, w, K, 0.0f, y + offset + first, y_stride);
    }
    if (previous != 1) omp_set_num_threads(previous);
  };
  if (arena == nullptr || arena->max_concurrency() <= 1) {
    run(0, tiles);
    return;
  }
  arena->execute([&] {
    tbb::parallel_for(tbb::blocked_range<int>(0, tiles, 1),
                      [&](const tbb::blocked_range<int>& r) { run(r.begin(), r.end()); });
  });
}

}  // namespace refinery::llm
