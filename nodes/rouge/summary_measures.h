// Measures of a summary that need no reference: how repetitive it is and how many of the source's
// key terms it keeps. Words follow the ROUGE tokenizer (ascii_words.h) and are Porter-stemmed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace refinery::rouge {

// Share of n-grams that repeat an earlier n-gram of the same text: 0 = none repeats,
// (k-1)/k = the text is one n-gram sequence said k times. 0 when the text has no n-gram.
double RepeatedNgramRate(const std::vector<std::string>& tokens, int n);

// The source's top `k` content terms by tf-idf (idf over its sentences; stopwords ignored), and
// the share of them present in the summary (1 when the source has none).
std::vector<std::string> KeyTerms(std::string_view source, size_t k);
double KeyTermCoverage(const std::vector<std::string>& key_terms, std::string_view summary);

}  // namespace refinery::rouge
