// DocumentModel: a document as the summarizer sees it: its sentences (byte spans), each
// sentence's content terms (stopwords removed, optionally stemmed) as an L2-normalised tf-idf
// vector, and every word as an id (for near-duplicate shingles). Built once per document in time
// linear in its length: each distinct word is stemmed once.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "nodes/text/sentence_splitter.h"

namespace refinery::summarize {

// A sparse vector: term ids ascending, weights aligned.
struct SparseVector {
  std::vector<uint32_t> terms;
  std::vector<float> weights;
};

float Dot(const SparseVector& a, const SparseVector& b);

// How much rarity counts in a term's weight. Measured on the summarization sets
// (docs/benchmarks.md): tf-idf ranks rare terms up, plain tf ranks the document's recurring
// subject up; the square root sits between.
enum class IdfMode { kFull, kSqrt, kNone };

struct DocumentModel {
  std::vector<text::Sentence> sentences;
  std::vector<SparseVector> vectors;         // per sentence, tf-idf, unit length (or empty)
  std::vector<std::vector<uint32_t>> words;  // per sentence, every word's id in order
  size_t term_count = 0;                     // distinct content terms

  // stem_terms: Porter-stem content words longer than 3 characters (merges "running"/"runs").
  static DocumentModel Build(std::string_view text, text::LineBreaks line_breaks, IdfMode idf,
                             bool stem_terms);
  size_t size() const { return sentences.size(); }
};

}  // namespace refinery::summarize
