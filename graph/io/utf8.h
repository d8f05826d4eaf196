// UTF-8 helpers shared by the engine (JSON output) and text nodes: validation with U+FFFD
// replacement, the same rule every time: a truncated sequence becomes one U+FFFD (as Python's
// 'replace' does); a byte that can never start a sequence becomes one U+FFFD.
#pragma once

#include <string>
#include <string_view>

namespace refinery::utf8 {

// Length of the valid UTF-8 sequence at s[i], or 0 if the bytes there are not valid UTF-8.
size_t ValidSequenceLength(std::string_view s, size_t i);

// Copy of s with invalid sequences replaced by U+FFFD.
std::string ToValidUtf8(std::string_view s);

bool IsValidUtf8(std::string_view s);

// Length of the longest prefix of s whose replacement can no longer change however s goes on:
// ToValidUtf8(s[0, n)) + ToValidUtf8(rest) == ToValidUtf8(s + rest) for any rest. Streaming
// converts text piece by piece with it, so a streamed text has the same U+FFFD as the whole
// text (a broken sequence is cut only where no later continuation byte could still join it).
size_t StableReplacementPrefix(std::string_view s);

}  // namespace refinery::utf8
