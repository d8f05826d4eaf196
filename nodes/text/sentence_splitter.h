// SentenceSplitter: sentence boundaries for summarization and sentence-level truncation.
//
//   for (const Sentence& s : SplitSentences(text)) use(text.substr(s.begin, s.end - s.begin));
//
// ICU's sentence BreakIterator (UAX #29) does the work, with the English abbreviation list
// ("Mr.", "e.g.", "U.S." do not end a sentence: ICU's `ss=standard` locale keyword) and decimals
// ("3.5") handled by ICU itself. On top of it:
//   - line breaks: in `kSentence` mode every line ends a sentence (one-sentence-per-line corpora,
//     lists, headings); in `kWrap` mode a single newline is a space (hard-wrapped prose) and only
//     blank lines end paragraphs; `kAuto` picks per text (see DetectLineBreaks).
//   - a list marker alone ("1.", "a)", "-", "*", "•") is joined to the sentence it introduces;
//   - after '!' or '?', a sentence that starts in lowercase on the same line is not a new one;
//   - spans are trimmed of surrounding whitespace and empty ones dropped.
// Offsets are bytes into the UTF-8 input. Invalid UTF-8 is read as U+FFFD (never split inside a
// byte sequence). Thread-safe: each thread keeps its own iterator.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace refinery::text {

struct Sentence {
  size_t begin = 0;  // byte offsets, [begin, end)
  size_t end = 0;
};

enum class LineBreaks { kAuto, kSentence, kWrap };

// kSentence when most lines look like whole sentences or short items, kWrap when lines are long
// and mostly end mid-sentence (hard-wrapped paragraphs).
LineBreaks DetectLineBreaks(std::string_view text);

std::vector<Sentence> SplitSentences(std::string_view text, LineBreaks mode = LineBreaks::kAuto);

}  // namespace refinery::text
