// "did you mean" suggestions for misspelt keys, node types and node ids.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace refinery::internal {

// Edit distance (insert, delete, substitute, adjacent swap).
size_t EditDistance(std::string_view a, std::string_view b);

// The closest candidate within a distance that scales with the word's length, or "".
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

// "; did you mean 'x'?" or "".
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

// "a, b, c" for lists in messages.
std::string JoinNames(const std::vector<std::string>& names);

}  // namespace refinery::internal
