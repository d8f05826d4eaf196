// A line-by-line port of nltk/stem/porter.py (NLTK 3.8), NLTK_EXTENSIONS mode only. The rule
// tables and their order follow NLTK's so that a reader can check one against the other; the
// comments name NLTK's departures from the published algorithm.
#include "nodes/text/porter_stemmer.h"

#include <array>
#include <functional>
#include <utility>

namespace refinery::text {
namespace {

using Word = std::string;
using Condition = std::function<bool(const Word& stem)>;

struct Rule {
  std::string_view suffix;  // "*d": ends with a double consonant
  std::string replacement;
  Condition condition;  // empty: always
};

bool EndsWith(const Word& w, std::string_view suffix) {
  return w.size() >= suffix.size() &&
         w.compare(w.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Word DropSuffix(const Word& w, std::string_view suffix) {
  return w.substr(0, w.size() - suffix.size());
}

bool IsConsonant(const Word& w, size_t i) {
  switch (w[i]) {
    case 'a':
    case 'e':
    case 'i':
    case 'o':
    case 'u':
      return false;
    case 'y':
      return i == 0 ? true : !IsConsonant(w, i - 1);
    default:
      return true;
  }
}

// m in [C](VC)^m[V]: the number of vowel-to-consonant transitions.
int Measure(const Word& stem) {
  int m = 0;
  for (size_t i = 1; i < stem.size(); ++i) {
    if (!IsConsonant(stem, i - 1) && IsConsonant(stem, i)) ++m;
  }
  return m;
}

bool PositiveMeasure(const Word& stem) { return Measure(stem) > 0; }

bool ContainsVowel(const Word& stem) {
  for (size_t i = 0; i < stem.size(); ++i) {
    if (!IsConsonant(stem, i)) return true;
  }
  return false;
}

bool EndsDoubleConsonant(const Word& w) {
  return w.size() >= 2 && w[w.size() - 1] == w[w.size() - 2] && IsConsonant(w, w.size() - 1);
}

// *o: consonant-vowel-consonant, the last not w, x or y. NLTK also accepts a two-letter
// vowel-consonant word.
bool EndsCvc(const Word& w) {
  const size_t n = w.size();
  if (n >= 3 && IsConsonant(w, n - 3) && !IsConsonant(w, n - 2) && IsConsonant(w, n - 1) &&
      w[n - 1] != 'w' && w[n - 1] != 'x' && w[n - 1] != 'y') {
    return true;
  }
  return n == 2 && !IsConsonant(w, 0) && IsConsonant(w, 1);
}

// The first rule whose suffix matches decides: applied if its condition holds, otherwise the
// word is returned unchanged (no later rule is tried).
Word ApplyRuleList(const Word& word, const std::vector<Rule>& rules) {
  for (const Rule& rule : rules) {
    if (rule.suffix == "*d" && EndsDoubleConsonant(word)) {
      Word stem = word.substr(0, word.size() - 2);
      if (!rule.condition || rule.condition(stem)) return stem + rule.replacement;
      return word;
    }
    if (EndsWith(word, rule.suffix)) {
      Word stem = DropSuffix(word, rule.suffix);
      if (!rule.condition || rule.condition(stem)) return stem + rule.replacement;
      return word;
    }
  }
  return word;
}

Word Step1a(const Word& word) {
  if (EndsWith(word, "ies") && word.size() == 4) return DropSuffix(word, "ies") + "ie";  // NLTK
  static const std::vector<Rule> rules = {
      {"sses", "ss", {}}, {"ies", "i", {}}, {"ss", "ss", {}}, {"s", "", {}}};
  return ApplyRuleList(word, rules);
}

Word Step1b(const Word& word) {
  if (EndsWith(word, "ied")) {  // NLTK: "tied" -> "tie", "cried" -> "cri"
    return DropSuffix(word, "ied") + (word.size() == 4 ? "ie" : "i");
  }
  if (EndsWith(word, "eed")) {
    Word stem = DropSuffix(word, "eed");
    return Measure(stem) > 0 ? stem + "ee" : word;
  }
  Word intermediate;
  bool removed = false;
  for (std::string_view suffix : {std::string_view("ed"), std::string_view("ing")}) {
    if (EndsWith(word, suffix)) {
      intermediate = DropSuffix(word, suffix);
      if (ContainsVowel(intermediate)) {
        removed = true;
        break;
      }
    }
  }
  if (!removed) return word;
  const char last = intermediate.back();
  const std::vector<Rule> rules = {
      {"at", "ate", {}},
      {"bl", "ble", {}},
      {"iz", "ize", {}},
      {"*d", std::string(1, last),
       [last](const Word&) { return last != 'l' && last != 's' && last != 'z'; }},
      {"", "e", [](const Word& stem) { return Measure(stem) == 1 && EndsCvc(stem); }},
  };
  return ApplyRuleList(intermediate, rules);
}

Word Step1c(const Word& word) {
  // NLTK: y -> i only after a consonant that is not the whole stem ("happy" -> "happi",
  // "enjoy" and "by" unchanged).
  static const std::vector<Rule> rules = {{"y", "i", [](const Word& stem) {
                                             return stem.size() > 1 &&
                                                    IsConsonant(stem, stem.size() - 1);
                                           }}};
  return ApplyRuleList(word, rules);
}

Word Step2(const Word& word) {
  // NLTK applies ALLI -> AL first and, when it fires, runs step 2 again on the result.
  if (EndsWith(word, "alli") && PositiveMeasure(DropSuffix(word, "alli"))) {
    return Step2(DropSuffix(word, "alli") + "al");
  }
  const Condition m0 = PositiveMeasure;
  const std::vector<Rule> rules = {
      {"ational", "ate", m0},
      {"tional", "tion", m0},
      {"enci", "ence", m0},
      {"anci", "ance", m0},
      {"izer", "ize", m0},
      {"bli", "ble", m0},  // NLTK: bli, not abli
      {"alli", "al", m0},
      {"entli", "ent", m0},
      {"eli", "e", m0},
      {"ousli", "ous", m0},
      {"ization", "ize", m0},
      {"ation", "ate", m0},
      {"ator", "ate", m0},
      {"alism", "al", m0},
      {"iveness", "ive", m0},
      {"fulness", "ful", m0},
      {"ousness", "ous", m0},
      {"aliti", "al", m0},
      {"iviti", "ive", m0},
      {"biliti", "ble", m0},
      {"fulli", "ful", m0},
      // NLTK keeps the 'l' of "logi" with the stem so that short stems (geo-, theo-) qualify.
      {"logi", "log",
       [&word](const Word&) { return PositiveMeasure(word.substr(0, word.size() - 3)); }},
  };
  return ApplyRuleList(word, rules);
}

Word Step3(const Word& word) {
  static const std::vector<Rule> rules = {
      {"icate", "ic", PositiveMeasure}, {"ative", "", PositiveMeasure},
      {"alize", "al", PositiveMeasure}, {"iciti", "ic", PositiveMeasure},
      {"ical", "ic", PositiveMeasure},  {"ful", "", PositiveMeasure},
      {"ness", "", PositiveMeasure}};
  return ApplyRuleList(word, rules);
}

Word Step4(const Word& word) {
  static const Condition m1 = [](const Word& stem) { return Measure(stem) > 1; };
  static const std::vector<Rule> rules = {{"al", "", m1},
                                          {"ance", "", m1},
                                          {"ence", "", m1},
                                          {"er", "", m1},
                                          {"ic", "", m1},
                                          {"able", "", m1},
                                          {"ible", "", m1},
                                          {"ant", "", m1},
                                          {"ement", "", m1},
                                          {"ment", "", m1},
                                          {"ent", "", m1},
                                          {"ion", "",
                                           [](const Word& stem) {
                                             return Measure(stem) > 1 &&
                                                    (stem.back() == 's' || stem.back() == 't');
                                           }},
                                          {"ou", "", m1},
                                          {"ism", "", m1},
                                          {"ate", "", m1},
                                          {"iti", "", m1},
                                          {"ous", "", m1},
                                          {"ive", "", m1},
                                          {"ize", "", m1}};
  return ApplyRuleList(word, rules);
}

Word Step5a(const Word& word) {
  if (EndsWith(word, "e")) {
    Word stem = DropSuffix(word, "e");
    const int m = Measure(stem);
    if (m > 1) return stem;
    if (m == 1 && !EndsCvc(stem)) return stem;
  }
  return word;
}

Word Step5b(const Word& word) {
  if (EndsWith(word, "ll") && Measure(word.substr(0, word.size() - 1)) > 1) {
    return word.substr(0, word.size() - 1);
  }
  return word;
}

// NLTK's irregular forms, looked up before any rule.
std::string_view Irregular(std::string_view word) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 17> kPool = {{
      {"sky", "sky"},
      {"skies", "sky"},
      {"dying", "die"},
      {"lying", "lie"},
      {"tying", "tie"},
      {"news", "news"},
      {"innings", "inning"},
      {"inning", "inning"},
      {"outings", "outing"},
      {"outing", "outing"},
      {"cannings", "canning"},
      {"canning", "canning"},
      {"howe", "howe"},
      {"proceed", "proceed"},
      {"exceed", "exceed"},
      {"succeed", "succeed"},
      {"", ""},
  }};
  for (const auto& [form, stem] : kPool) {
    if (!form.empty() && form == word) return stem;
  }
  return {};
}

}  // namespace

std::string PorterStemmer::Stem(std::string_view input) {
  if (std::string_view irregular = Irregular(input); !irregular.empty())
    return std::string(irregular);
  Word word(input);
  if (word.size() <= 2) return word;  // NLTK: one- and two-letter words are left alone
  word = Step1a(word);
  word = Step1b(word);
  word = Step1c(word);
  word = Step2(word);
  word = Step3(word);
  word = Step4(word);
  word = Step5a(word);
  word = Step5b(word);
  return word;
}

}  // namespace refinery::text
