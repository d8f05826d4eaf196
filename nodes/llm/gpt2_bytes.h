// GPT-2's byte-level token spelling (bytes_to_unicode in OpenAI's encoder.py), used by every
// byte-level BPE vocabulary in GGUF (tokenizer.ggml.model = gpt2): each byte is written as one
// printable character, so token strings are valid UTF-8 whatever bytes they stand for.
//
//   std::string text = Gpt2Spelling("\xC4 a");     // the token string as stored in the file
//   std::string bytes;  Gpt2Bytes(text, &bytes);    // back to the raw bytes
#pragma once

#include <string>
#include <string_view>

namespace refinery::llm {

// The stored spelling of raw token bytes.
std::string Gpt2Spelling(std::string_view bytes);
// The raw bytes of a stored token string; false if a character is not one of the 256 the
// spelling uses (control tokens such as "<|endoftext|>" are spelled as themselves and may fail).
bool Gpt2Bytes(std::string_view token, std::string* out);

}  // namespace refinery::llm
