// Rotary position embedding as ggml computes it, for every variant the supported families use:
//   - pairs: adjacent (x[2i], x[2i+1]) for llama (its GGUF q/k rows are permuted for that), or
//     NeoX-style halves (x[i], x[i + rope_dims/2]) for qwen2;
//   - angle of pair i at position p: freq_scale * p * base^(-2i/rope_dims) / factor[i], where
//     freq_scale is linear rope scaling (1 / rope.scaling.factor) and factor[i] the per-pair
//     divisors of Llama 3's rope scaling (the rope_freqs tensor; 1 when absent).
// Angles are computed in float and iterated (theta *= scale), exactly as ggml does, so positions
// far into the context give ggml's angles and not more precise ones that would differ from it.
//
//   std::vector<float> cs(c.rope_dims);
//   RopeAngles(c, pos, cs.data());            // (cos, sin) per rotated pair
//   ApplyRope(c, q, c.heads, cs.data());       // every head of one row
#pragma once

namespace refinery::llm {

struct LlamaConfig;

// (cos, sin) of each rotated pair at `pos`: out[2i] = cos, out[2i+1] = sin (rope_dims floats).
void RopeAngles(const LlamaConfig& c, int pos, float* out);
// Rotates the first rope_dims values of each of `heads` heads (head_dim apart) of `x`.
void ApplyRope(const LlamaConfig& c, float* x, int heads, const float* cos_sin);

}  // namespace refinery::llm
