#include "tools/graph-runner/duplicate_ids.h"

#include <xxhash.h>

namespace refinery::cli {

bool DuplicateIds::Seen(std::string_view id) {
  uint64_t h = XXH3_64bits(id.data(), id.size());
  if (h == 0) h = 1;
  if (slots_.empty()) slots_.assign(1024, 0);
  const size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    if (slots_[i] == h) {
      ++duplicates_;
      return true;
    }
    if (slots_[i] == 0) {
      if (full()) return false;  // no more room: unchecked from here on
      slots_[i] = h;
      if (++count_ * 2 > slots_.size()) Grow();
      return false;
    }
  }
}

void DuplicateIds::Grow() {
  std::vector<uint64_t> old(slots_.size() * 2, 0);
  old.swap(slots_);
  const size_t mask = slots_.size() - 1;
  for (uint64_t h : old) {
    if (h == 0) continue;
    size_t i = h & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = h;
  }
}

}  // namespace refinery::cli
