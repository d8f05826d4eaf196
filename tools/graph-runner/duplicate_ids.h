// DuplicateIds: which request ids of a run were seen before, in bounded memory. Each id is kept
// as its 64-bit xxHash in an open-addressing table (8 bytes a slot, at most half full); after
// `max_ids` distinct ids the table stops growing and later ids go unchecked (the summary says
// so). Two different ids share a hash with probability ~ n^2 / 2^65 (3e-8 at the default 1M ids, 16
// MB).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace refinery::cli {

class DuplicateIds {
 public:
  explicit DuplicateIds(size_t max_ids = size_t(1) << 20) : max_ids_(max_ids) {}

  // True when `id` was seen before; remembers it otherwise (while there is room).
  bool Seen(std::string_view id);

  size_t duplicates() const { return duplicates_; }
  size_t tracked() const { return count_; }
  bool full() const { return count_ >= max_ids_; }  // ids after this were not checked

 private:
  void Grow();
  size_t max_ids_;
  size_t count_ = 0;
  size_t duplicates_ = 0;
  std::vector<uint64_t> slots_;  // 0 = empty (a hash of 0 is stored as 1)
};

}  // namespace refinery::cli
