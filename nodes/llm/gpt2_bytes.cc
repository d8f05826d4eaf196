#include "nodes/llm/gpt2_bytes.h"

#include <array>
#include <cstdint>

namespace refinery::llm {
namespace {

// Printable bytes stand for themselves; the others take code points from 256 up, in byte order.
struct Tables {
  std::array<uint16_t, 256> code_point{};  // byte -> code point
  std::array<int16_t, 512> byte{};         // code point -> byte, -1 when unused
  Tables() {
    byte.fill(-1);
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable =
          (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      code_point[size_t(b)] = uint16_t(printable ? b : next++);
      byte[code_point[size_t(b)]] = int16_t(b);
    }
  }
};

const Tables& Get() {
  static const Tables tables;
  return tables;
}

}  // namespace

std::string Gpt2Spelling(std::string_view bytes) {
  std::string out;
  for (unsigned char b : bytes) {
    const uint16_t cp = Get().code_point[b];
    if (cp < 0x80) {
      out.push_back(char(cp));
    } else {  // every code point used is below 0x800: two UTF-8 bytes
      out.push_back(char(0xC0 | (cp >> 6)));
      out.push_back(char(0x80 | (cp & 0x3F)));
    }
  }
  return out;
}

bool Gpt2Bytes(std::string_view token, std::string* out) {
  out->clear();
  for (size_t i = 0; i < token.size();) {
    const unsigned char c = static_cast<unsigned char>(token[i]);
    uint32_t cp;
    if (c < 0x80) {
      cp = c;
      i += 1;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < token.size()) {
      cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(token[i + 1]) & 0x3Fu);
      i += 2;
    } else {
      return false;  // the spelling only uses code points below 512
    }
    if (cp >= Get().byte.size() || Get().byte[cp] < 0) return false;
    out->push_back(char(Get().byte[cp]));
  }
  return true;
}

}  // namespace refinery::llm
