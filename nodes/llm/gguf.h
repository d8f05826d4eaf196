// GGUF v3 files (ggml docs/gguf.md): a memory-mapped, validating reader and a small writer.
//
//   auto file = GgufFile::Open("model.gguf");          // StatusOr<std::shared_ptr<const GgufFile>>
//   int64_t layers = *(*file)->Int("llama.block_count");
//   const GgufTensor* t = (*file)->Tensor("token_embd.weight");
//   std::vector<float> w = t->ToFloat();                // any type: quant/dequantize.h
//
// Everything is checked against the file size before any data is touched: magic, version (2 or
// 3), counts, string and array lengths, value types, tensor ranks, dimensions (no overflow),
// types, offsets, alignment and extents, duplicate names. A bad file is an error naming the file,
// the byte offset and the problem; never a crash and never an allocation sized by the file's
// claims beyond what the file can hold.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "graph/status.h"
#include "nodes/llm/quant/formats.h"

namespace refinery::llm {

// GGUF tensor types: ggml's ids (quant/formats.h lists the ones this project reads).
using GgmlType = quant::Type;
const char* GgmlTypeName(uint32_t type);

struct GgufTensor {
  std::string name;
  std::vector<uint64_t> dims;  // ne0 (contiguous) first
  GgmlType type = GgmlType::kF32;
  uint64_t offset = 0;  // within the data section
  const uint8_t* data = nullptr;
  uint64_t bytes = 0;
  uint64_t elements = 0;
  // Rows of dims[0] values: dims[1] * dims[2] * ...
  uint64_t rows() const { return dims.empty() ? 0 : elements / dims[0]; }
  std::vector<float> ToFloat() const;
};

// A metadata value: integers (any width, as int64 / uint64), floats, bool, string, or arrays of
// those (stored flat).
struct GgufValue {
  enum Kind { kInt, kFloat, kBool, kString, kArray } kind = kInt;
  uint32_t gguf_type = 0;
  int64_t i = 0;
  double f = 0;
  std::string s;
  uint32_t element_type = 0;  // arrays
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
};

class GgufFile {
 public:
  static StatusOr<std::shared_ptr<const GgufFile>> Open(const std::string& path);
  ~GgufFile();

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  const GgufValue* Find(std::string_view key) const;
  std::optional<int64_t> Int(std::string_view key) const;
  std::optional<double> Float(std::string_view key) const;  // also accepts integers
  std::optional<std::string> String(std::string_view key) const;
  const GgufTensor* Tensor(std::string_view name) const;
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const std::map<std::string, GgufValue, std::less<>>& metadata() const { return kv_; }
  // Metadata in file order, each value as encoded in the file (its type id, then the value):
  // what a rewriting tool copies verbatim.
  struct RawKv {
    std::string key;
    std::string encoded;
  };
  const std::vector<RawKv>& raw_metadata() const { return raw_kv_; }

 private:
  GgufFile() = default;
  std::string path_;
  uint32_t version_ = 0;
  const uint8_t* map_ = nullptr;
  size_t size_ = 0;
  std::map<std::string, GgufValue, std::less<>> kv_;
  std::vector<GgufTensor> tensors_;
  std::vector<RawKv> raw_kv_;
  std::map<std::string, size_t, std::less<>> by_name_;
  friend class GgufParser;
};

// Writes GGUF v3 (tests and tools/make-tiny-model): metadata, then tensors converted from float.
class GgufWriter {
 public:
  void SetString(const std::string& key, const std::string& v);
  void SetU32(const std::string& key, uint32_t v);
  void SetI32(const std::string& key, int32_t v);
  void SetF32(const std::string& key, float v);
  void SetBool(const std::string& key, bool v);
  void SetStrings(const std::string& key, const std::vector<std::string>& v);
  void SetF32s(const std::string& key, const std::vector<float>& v);
  void SetI32s(const std::string& key, const std::vector<int32_t>& v);
  // A value already encoded (GgufFile::raw_metadata, EncodeU32); replaces the key's value in
  // place if set (the other setters append, so tests can write duplicate keys).
  void SetEncoded(const std::string& key, std::string encoded);
  static std::string EncodeU32(uint32_t v);
  // A tensor whose bytes are already in `type`'s layout (quant/quantize.h).
  void AddTensorBytes(const std::string& name, std::vector<uint64_t> dims, GgmlType type,
                      std::string data);
  // A tensor of `bytes` bytes in `type`'s layout, produced only when the file is written, one
  // tensor at a time: converting a file then needs the memory of its largest tensor, not of the
  // whole output. `produce` must return exactly `bytes` bytes.
  void AddTensorLater(const std::string& name, std::vector<uint64_t> dims, GgmlType type,
                      uint64_t bytes, std::function<std::string()> produce);
  // `dims` ne0 first; values.size() must equal their product.
  void AddTensor(const std::string& name, std::vector<uint64_t> dims,
                 const std::vector<float>& values, GgmlType type = GgmlType::kF32);
  // Writes beside `path` and renames over it once every byte is written and the file closed:
  // a failed write leaves no partial file, and `path` may be a file whose tensors are being read
  // (the quantizer's input, still mapped), since its old contents stay intact until the rename.
  Status Write(const std::string& path) const;
  // The whole file in memory (tests); empty when Write would fail (an unwritable tensor type,
  // a produced tensor of the wrong size).
  std::string Bytes() const;

 private:
  struct Kv {
    std::string key;
    std::string encoded;  // type + value
  };
  struct PendingTensor {
    std::string name;
    std::vector<uint64_t> dims;
    GgmlType type;
    std::string data;
    uint64_t bytes = 0;                    // data.size(), or what `produce` will return
    std::function<std::string()> produce;  // set for AddTensorLater
  };
  std::string Header() const;  // everything before the first tensor's data, padded
  // Calls `sink` with the header, then each tensor's data and padding, in file order.
  Status Emit(const std::function<bool(std::string_view)>& sink) const;
  std::vector<Kv> kv_;
  std::vector<PendingTensor> tensors_;
  std::string unwritable_;  // the first tensor in a type AddTensor cannot encode
};

}  // namespace refinery::llm
