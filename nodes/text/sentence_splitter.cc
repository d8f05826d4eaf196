#include "nodes/text/sentence_splitter.h"

#include <unicode/brkiter.h>
#include <unicode/locid.h>
#include <unicode/utext.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <stdexcept>
#include <string>

namespace refinery::text {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// One iterator per thread: ICU break iterators are not thread-safe, and creating one costs far
// more than splitting a paragraph.
icu::BreakIterator& ThreadIterator() {
  thread_local std::unique_ptr<icu::BreakIterator> it = [] {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::BreakIterator> bi(
        icu::BreakIterator::createSentenceInstance(icu::Locale("en@ss=standard"), status));
    if (U_FAILURE(status) || !bi) {
      status = U_ZERO_ERROR;  // no suppression data: plain UAX #29 rules
      bi.reset(icu::BreakIterator::createSentenceInstance(icu::Locale::getEnglish(), status));
    }
    if (U_FAILURE(status) || !bi) {
      throw std::runtime_error(std::string("ICU sentence break iterator unavailable: ") +
                               u_errorName(status));
    }
    return bi;
  }();
  return *it;
}

// "1.", "12)", "a.", "iv)", "-", "*", "•", "–": a marker that introduces the next sentence.
bool IsListMarker(std::string_view s) {
  if (s == "-" || s == "*" || s == "+" || s == "\u2022" || s == "\u2013" || s == "\u2014")
    return true;
  if (s.size() < 2 || s.size() > 5) return false;
  const char last = s.back();
  if (last != '.' && last != ')') return false;
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (!std::isalnum(c) && !(i == 0 && c == '(')) return false;
  }
  return true;
}

// ICU ends a sentence at every '!' and '?' ("\"Too much!\" he said." is two); a sentence that
// starts in lowercase on the same line continues the previous one.
bool ContinuesSentence(std::string_view scan, const Sentence& prev, const Sentence& next) {
  const char first = scan[next.begin];
  if (first < 'a' || first > 'z') return false;
  return scan.substr(prev.end, next.begin - prev.end).find('\n') == std::string_view::npos;
}

void Trim(std::string_view text, Sentence& s) {
  while (s.begin < s.end && IsSpace(text[s.begin])) ++s.begin;
  while (s.end > s.begin && IsSpace(text[s.end - 1])) --s.end;
}

}  // namespace

LineBreaks DetectLineBreaks(std::string_view text) {
  size_t lines = 0, long_lines = 0, open_ended = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    Sentence line{start, end};
    Trim(text, line);
    if (line.end > line.begin) {
      ++lines;
      if (line.end - line.begin >= 40) {
        ++long_lines;
        const char last = text[line.end - 1];
        if (std::string_view(".!?:;\"')]").find(last) == std::string_view::npos) ++open_ended;
      }
    }
    start = end + 1;
  }
  // Wrapped prose: most lines are long and most long lines stop mid-sentence.
  if (lines >= 3 && long_lines * 2 > lines && open_ended * 2 > long_lines) return LineBreaks::kWrap;
  return LineBreaks::kSentence;
}

std::vector<Sentence> SplitSentences(std::string_view text, LineBreaks mode) {
  std::vector<Sentence> out;
  if (text.empty()) return out;
  if (mode == LineBreaks::kAuto) mode = DetectLineBreaks(text);

  // ICU breaks after every line break (a paragraph separator in UAX #29). For wrapped prose,
  // single newlines become spaces in a copy of the same length, so offsets stay valid.
  std::string wrapped;
  std::string_view scan = text;
  if (mode == LineBreaks::kWrap) {
    wrapped.assign(text);
    for (size_t i = 0; i < wrapped.size(); ++i) {
      if (wrapped[i] != '\n') continue;
      const bool blank_before = i > 0 && wrapped[i - 1] == '\n';
      const bool blank_after =
          i + 1 < wrapped.size() && (wrapped[i + 1] == '\n' || wrapped[i + 1] == '\r');
      if (!blank_before && !blank_after) wrapped[i] = ' ';
    }
    scan = wrapped;
  }

  UErrorCode status = U_ZERO_ERROR;
  UText* ut = utext_openUTF8(nullptr, scan.data(), static_cast<int64_t>(scan.size()), &status);
  if (U_FAILURE(status))
    throw std::runtime_error(std::string("ICU utext_openUTF8: ") + u_errorName(status));
  icu::BreakIterator& it = ThreadIterator();
  it.setText(ut, status);
  if (U_FAILURE(status)) {
    utext_close(ut);
    throw std::runtime_error(std::string("ICU setText: ") + u_errorName(status));
  }
  int32_t begin = it.first();
  bool pending_marker = false;
  for (int32_t end = it.next(); end != icu::BreakIterator::DONE; begin = end, end = it.next()) {
    Sentence s{static_cast<size_t>(begin), static_cast<size_t>(end)};
    Trim(text, s);
    if (s.end <= s.begin) continue;
    if (pending_marker || (!out.empty() && ContinuesSentence(scan, out.back(), s))) {
      out.back().end = s.end;  // the previous sentence absorbs this one
      pending_marker = false;
    } else {
      out.push_back(s);
    }
    pending_marker = IsListMarker(text.substr(out.back().begin, out.back().end - out.back().begin));
  }
  utext_close(ut);
  // With kWrap a sentence may still span a (single) newline; that is the point of the mode.
  return out;
}

}  // namespace refinery::text
