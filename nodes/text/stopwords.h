// English stopwords: NLTK's english list (179 words, lowercase, apostrophes removed the way the
// ROUGE tokenizer removes them: "don't" -> "don", "t"). Summarization ignores them when it
// compares sentences; ROUGE never does.
#pragma once

#include <string_view>

namespace refinery::text {

bool IsEnglishStopword(std::string_view lowercase_word);

}  // namespace refinery::text
