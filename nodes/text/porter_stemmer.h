// PorterStemmer: the Porter (1980) suffix stripper exactly as NLTK's PorterStemmer computes it in
// its default NLTK_EXTENSIONS mode, which is what Google's rouge-score uses with stemming on
// (dying -> die, skies -> sky, news -> news, where the published algorithm gives dy, ski, new).
//
//   std::string s = PorterStemmer::Stem("generalization");   // "gener"
//
// Input is a lowercase ASCII word (rouge-score stems only [a-z0-9]+ tokens); other bytes are
// treated as consonants, as NLTK treats any non-vowel character. Stateless and thread-safe.
// tests/data/stemmer/ holds NLTK 3.8's stems of ~30k words; the test compares every one.
#pragma once

#include <string>
#include <string_view>

namespace refinery::text {

class PorterStemmer {
 public:
  static std::string Stem(std::string_view word);
};

}  // namespace refinery::text
