#include "graph/runtime/cache_key.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace refinery {

CacheKeyBuilder::CacheKeyBuilder(const std::string& type, const std::string& version,
                                 const std::string& options, std::vector<std::string> reads)
    : reads_(std::move(reads)) {
  // Length-prefixed parts so that ("ab","c") and ("a","bc") differ.
  for (const std::string* part : {&type, &version, &options}) {
    prefix_ += std::to_string(part->size()) + ":" + *part;
  }
}

CacheKey CacheKeyBuilder::Key(const Item& item) const {
  XXH3_state_t state;
  XXH3_128bits_reset(&state);
  XXH3_128bits_update(&state, prefix_.data(), prefix_.size());
  for (const std::string& name : reads_) {
    uint64_t header[2] = {name.size(), 0};
    const FieldValue* v = item.field(name);
    header[1] = v ? v->index() + 1 : 0;
    XXH3_128bits_update(&state, header, sizeof header);
    XXH3_128bits_update(&state, name.data(), name.size());
    if (v == nullptr) continue;
    const void* data;
    uint64_t size;
    if (const auto* s = std::get_if<std::string>(v)) {
      data = s->data();
      size = s->size();
    } else if (const auto* t = std::get_if<TokenIds>(v)) {
      data = t->data();
      size = t->size() * sizeof(int32_t);
    } else {
      data = &std::get<double>(*v);
      size = sizeof(double);
    }
    XXH3_128bits_update(&state, &size, sizeof size);
    XXH3_128bits_update(&state, data, size);
  }
  XXH128_hash_t h = XXH3_128bits_digest(&state);
  return {h.low64, h.high64};
}

}  // namespace refinery
