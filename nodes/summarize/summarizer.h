// Extractive summarization: pick whole sentences of a document, in their original order, so that
// the summary fits a target and says as much of the document as it can.
//
//   SummarizerOptions o;  o.method = Method::kTextRank;  o.ratio = 0.3;
//   Summary s = Summarize(text, o, encoding.get());   // s.text, s.tokens_after <= budget
//
// Steps: split sentences (ICU), build tf-idf vectors, drop near-duplicates (MinHash, whole
// document), rank (lead | textrank | lexrank | centroid), select under the budget with MMR, join.
// The budget is tokens of the encoding (`ratio` of the document's tokens, or `max_tokens`), or a
// number of `sentences`; re-tokenizing the joined summary never exceeds a token budget.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "nodes/summarize/document_model.h"
#include "nodes/text/sentence_splitter.h"
#include "nodes/text/tiktoken_encoding.h"

namespace refinery::summarize {

enum class Method { kLead, kTextRank, kLexRank, kCentroid };
const char* MethodName(Method m);

struct SummarizerOptions {
  Method method = Method::kCentroid;
  // Exactly one target: ratio (of tokens) > 0, max_tokens > 0 or sentences > 0.
  double ratio = 0;
  size_t max_tokens = 0;
  size_t sentences = 0;
  double lambda = 0.8;             // MMR trade-off; 1 = no redundancy penalty
  double fill_until = 0.5;         // see SelectionRequest::fill_until
  double dedupe_threshold = 0.7;   // estimated Jaccard of 3-shingles; 0 = keep near-duplicates
  double position_bias = 0.0;      // 0..1: weight of "earlier is more important"
  double damping = 0.85;           // PageRank
  double lexrank_threshold = 0.1;  // cosine for a LexRank edge
  size_t chunk_sentences = 1000;   // ranking works within chunks of this many sentences
  size_t max_neighbours = 50;      // similarity-graph edges kept per sentence
  IdfMode idf = IdfMode::kSqrt;
  bool stem = false;  // Porter-stem terms for similarity (measured: off is better)
  text::LineBreaks line_breaks = text::LineBreaks::kAuto;
  std::string joiner = "\n";
};

struct Summary {
  std::string text;
  size_t tokens_before = 0;
  size_t tokens_after = 0;
  size_t sentences_before = 0;
  size_t sentences_after = 0;
  size_t duplicates_removed = 0;
  size_t budget = 0;  // tokens (0 when the target is a sentence count)
};

Summary Summarize(std::string_view text, const SummarizerOptions& options,
                  const text::TiktokenEncoding& encoding);

}  // namespace refinery::summarize
