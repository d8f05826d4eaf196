#include "nodes/llm/gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "nodes/llm/float_formats.h"
#include "nodes/llm/quant/dequantize.h"
#include "nodes/llm/quant/quantize.h"

namespace refinery::llm {

namespace {

enum ValueType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

size_t ScalarSize(uint32_t t) {
  switch (t) {
    case kU8:
    case kI8:
    case kBool:
      return 1;
    case kU16:
    case kI16:
      return 2;
    case kU32:
    case kI32:
    case kF32:
      return 4;
    case kU64:
    case kI64:
    case kF64:
      return 8;
    default:
      return 0;
  }
}

constexpr uint64_t kMaxTensors = 1u << 20;
constexpr uint64_t kMaxKv = 1u << 20;
constexpr uint32_t kMaxDims = 4;
constexpr uint64_t kQ8Block = 32;
constexpr uint64_t kQ8BlockBytes = 34;  // f16 scale + 32 int8

}  // namespace

const char* GgmlTypeName(uint32_t type) {
  switch (type) {
    case 0:
      return "F32";
    case 1:
      return "F16";
    case 2:
      return "Q4_0";
    case 3:
      return "Q4_1";
    case 6:
      return "Q5_0";
    case 7:
      return "Q5_1";
    case 8:
      return "Q8_0";
    case 10:
      return "Q2_K";
    case 11:
      return "Q3_K";
    case 12:
      return "Q4_K";
    case 13:
      return "Q5_K";
    case 14:
      return "Q6_K";
    case 9:
      return "Q8_1";
    case 15:
      return "Q8_K";
    case 16:
      return "IQ2_XXS";
    case 17:
      return "IQ2_XS";
    case 18:
      return "IQ3_XXS";
    case 19:
      return "IQ1_S";
    case 20:
      return "IQ4_NL";
    case 21:
      return "IQ3_S";
    case 22:
      return "IQ2_S";
    case 23:
      return "IQ4_XS";
    case 28:
      return "F64";
    case 29:
      return "IQ1_M";
    case 30:
      return "BF16";
    default:
      return "unknown";
  }
}

// Reads the file with a cursor; every read is checked against the end of the mapping.
class GgufParser {
 public:
  GgufParser(GgufFile& f) : f_(f), p_(f.map_), end_(f.map_ + f.size_) {}

  Status Parse() {
    uint32_t magic;
    if (!Read(&magic) || std::memcmp(&magic, "GGUF", 4) != 0)
      return Error(0, "not a GGUF file (bad magic)");
    if (!Read(&f_.version_)) return Error(4, "truncated header");
    if (f_.version_ != 2 && f_.version_ != 3) {
      return Error(
          4, "unsupported GGUF version " + std::to_string(f_.version_) + " (supported: 2, 3)");
    }
    uint64_t n_tensors, n_kv;
    if (!Read(&n_tensors) || !Read(&n_kv)) return Error(Offset(), "truncated header");
    if (n_tensors > kMaxTensors)
      return Error(8, "implausible tensor count " + std::to_string(n_tensors));
    if (n_kv > kMaxKv) return Error(16, "implausible metadata count " + std::to_string(n_kv));
    for (uint64_t k = 0; k < n_kv; ++k) {
      const size_t at = Offset();
      std::string key;
      uint32_t type;
      if (!ReadString(&key) || !Read(&type))
        return Error(at, "truncated metadata entry " + std::to_string(k));
      GgufValue value;
      const size_t value_at = Offset() - sizeof(type);
      if (Status s = ReadValue(type, &value, key); !s.ok()) return s;
      if (!f_.kv_.emplace(key, std::move(value)).second)
        return Error(at, "duplicate metadata key '" + key + "'");
      f_.raw_kv_.push_back({key, std::string(reinterpret_cast<const char*>(f_.map_) + value_at,
                                             Offset() - value_at)});
    }
    uint64_t alignment = 32;
    if (auto a = f_.Int("general.alignment")) {
      if (*a <= 0 || *a > 4096 || (*a & (*a - 1)) != 0)
        return Error(0,
                     "general.alignment " + std::to_string(*a) + " is not a power of two <= 4096");
      alignment = uint64_t(*a);
    }
    for (uint64_t t = 0; t < n_tensors; ++t) {
      const size_t at = Offset();
      GgufTensor tensor;
      uint32_t n_dims, type;
      if (!ReadString(&tensor.name) || !Read(&n_dims))
        return Error(at, "truncated tensor info " + std::to_string(t));
      if (n_dims == 0 || n_dims > kMaxDims) {
        return Error(at, "tensor '" + tensor.name + "' has " + std::to_string(n_dims) +
                             " dimensions (1 to 4 allowed)");
      }
      tensor.elements = 1;
      for (uint32_t d = 0; d < n_dims; ++d) {
        uint64_t dim;
        if (!Read(&dim)) return Error(at, "truncated tensor info for '" + tensor.name + "'");
        if (dim == 0 || dim > (uint64_t(1) << 40) ||
            tensor.elements > std::numeric_limits<uint64_t>::max() / dim) {
          return Error(
              at, "tensor '" + tensor.name + "' has an invalid dimension " + std::to_string(dim));
        }
        tensor.elements *= dim;
        tensor.dims.push_back(dim);
      }
      if (!Read(&type) || !Read(&tensor.offset))
        return Error(at, "truncated tensor info for '" + tensor.name + "'");
      const quant::TypeInfo* info = quant::Info(type);
      if (info == nullptr) {
        return Error(at, "tensor '" + tensor.name + "' has type " + GgmlTypeName(type) + " (" +
                             std::to_string(type) +
                             "), not supported (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, "
                             "Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL are)");
      }
      if (tensor.dims[0] % uint64_t(info->block_values) != 0) {
        return Error(at, std::string(info->name) + " tensor '" + tensor.name +
                             "' has a row length not divisible by its block of " +
                             std::to_string(info->block_values));
      }
      tensor.bytes = tensor.elements / uint64_t(info->block_values) * uint64_t(info->block_bytes);
      tensor.type = GgmlType(type);
      if (tensor.offset % alignment != 0) {
        return Error(at, "tensor '" + tensor.name + "' offset " + std::to_string(tensor.offset) +
                             " is not aligned to " + std::to_string(alignment));
      }
      if (!f_.by_name_.emplace(tensor.name, f_.tensors_.size()).second) {
        return Error(at, "duplicate tensor '" + tensor.name + "'");
      }
      f_.tensors_.push_back(std::move(tensor));
    }
    const uint64_t data_start = (Offset() + alignment - 1) / alignment * alignment;
    for (GgufTensor& tensor : f_.tensors_) {
      if (data_start > f_.size_ || tensor.offset > f_.size_ - data_start ||
          tensor.bytes > f_.size_ - data_start - tensor.offset) {
        return Error(data_start + tensor.offset,
                     "tensor '" + tensor.name + "' (" + std::to_string(tensor.bytes) +
                         " bytes) extends past the end of the file (" + std::to_string(f_.size_) +
                         " bytes): truncated?");
      }
      tensor.data = f_.map_ + data_start + tensor.offset;
    }
    return Status::Ok();
  }

 private:
  size_t Offset() const { return size_t(p_ - f_.map_); }
  Status Error(size_t offset, const std::string& what) const {
    return Status::InvalidArgument(f_.path_ + ": at byte " + std::to_string(offset) + ": " + what);
  }
  template <typename T>
  bool Read(T* out) {
    if (size_t(end_ - p_) < sizeof(T)) return false;
    std::memcpy(out, p_, sizeof(T));
    p_ += sizeof(T);
    return true;
  }
  bool ReadString(std::string* out) {
    uint64_t len;
    if (!Read(&len) || len > uint64_t(end_ - p_)) return false;
    out->assign(reinterpret_cast<const char*>(p_), size_t(len));
    p_ += len;
    return true;
  }
  bool ReadScalar(uint32_t type, GgufValue* v) {
    switch (type) {
      case kU8: {
        uint8_t x;
        if (!Read(&x)) return false;
        v->i = x;
        v->kind = GgufValue::kInt;
        return true;
      }
      case kI8: {
        int8_t x;
        if (!Read(&x)) return false;
        v->i = x;
        v->kind = GgufValue::kInt;
        return true;
      }
      case kU16: {
        uint16_t x;
        if (!Read(&x)) return false;
        v->i = x;
        v->kind = GgufValue::kInt;
        return true;
      }
      case kI16: {
        int16_t x;
        if (!Read(&x)) return false;
        v->i = x;
        v->kind = GgufValue::kInt;
        return true;
      }
      case kU32: {
        uint32_t x;
        if (!Read(&x)) return false;
        v->i = x;
        v->kind = GgufValue::kInt;
        return true;
      }
      case kI32: {
        int32_t x;
        if (!Read(&x)) return false;
        v->i = x;
        v->kind = GgufValue::kInt;
        return true;
      }
      case kU64: {
        uint64_t x;
        if (!Read(&x)) return false;
        v->i = int64_t(x);
        v->kind = GgufValue::kInt;
        return true;
      }
      case kI64: {
        int64_t x;
        if (!Read(&x)) return false;
        v->i = x;
        v->kind = GgufValue::kInt;
        return true;
      }
      case kF32: {
        float x;
        if (!Read(&x)) return false;
        v->f = x;
        v->kind = GgufValue::kFloat;
        return true;
      }
      case kF64: {
        double x;
        if (!Read(&x)) return false;
        v->f = x;
        v->kind = GgufValue::kFloat;
        return true;
      }
      case kBool: {
        uint8_t x;
        if (!Read(&x)) return false;
        v->i = x != 0;
        v->kind = GgufValue::kBool;
        return true;
      }
      case kString:
        v->kind = GgufValue::kString;
        return ReadString(&v->s);
      default:
        return false;
    }
  }
  Status ReadValue(uint32_t type, GgufValue* v, const std::string& key) {
    const size_t at = Offset();
    v->gguf_type = type;
    if (type != kArray) {
      if (type > kF64)
        return Error(at, "metadata '" + key + "' has unknown value type " + std::to_string(type));
      if (!ReadScalar(type, v)) return Error(at, "metadata '" + key + "' is truncated");
      return Status::Ok();
    }
    uint32_t elem;
    uint64_t count;
    if (!Read(&elem) || !Read(&count))
      return Error(at, "metadata '" + key + "' array header is truncated");
    if (elem == kArray || elem > kF64)
      return Error(
          at, "metadata '" + key + "' has unsupported array element type " + std::to_string(elem));
    // Every element takes at least its scalar size (strings: their 8-byte length): a count the
    // rest of the file cannot hold is refused before anything is allocated.
    const uint64_t min_size = elem == kString ? 8 : ScalarSize(elem);
    if (count > uint64_t(end_ - p_) / min_size) {
      return Error(at, "metadata '" + key + "' claims " + std::to_string(count) +
                           " elements, more than the file holds");
    }
    v->kind = GgufValue::kArray;
    v->element_type = elem;
    GgufValue item;
    for (uint64_t k = 0; k < count; ++k) {
      if (!ReadScalar(elem, &item))
        return Error(Offset(),
                     "metadata '" + key + "' element " + std::to_string(k) + " is truncated");
      if (item.kind == GgufValue::kString)
        v->strings.push_back(std::move(item.s));
      else if (item.kind == GgufValue::kFloat)
        v->floats.push_back(item.f);
      else
        v->ints.push_back(item.i);
    }
    return Status::Ok();
  }

  GgufFile& f_;
  const uint8_t* p_;
  const uint8_t* end_;
};

StatusOr<std::shared_ptr<const GgufFile>> GgufFile::Open(const std::string& path) {
  std::shared_ptr<GgufFile> f(new GgufFile());
  f->path_ = path;
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Status::NotFound(path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(path + ": not a regular file");
  }
  f->size_ = size_t(st.st_size);
  if (f->size_ < 24) {
    ::close(fd);
    return Status::InvalidArgument(path + ": " + std::to_string(f->size_) +
                                   " bytes is too small for a GGUF header");
  }
  void* m = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) return Status::Internal(path + ": mmap failed: " + std::strerror(errno));
  f->map_ = static_cast<const uint8_t*>(m);
  GgufParser parser(*f);
  if (Status s = parser.Parse(); !s.ok()) return s;
  return std::shared_ptr<const GgufFile>(std::move(f));
}

GgufFile::~GgufFile() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), size_);
}

const GgufValue* GgufFile::Find(std::string_view key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

std::optional<int64_t> GgufFile::Int(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (!v || (v->kind != GgufValue::kInt && v->kind != GgufValue::kBool)) return std::nullopt;
  return v->i;
}

std::optional<double> GgufFile::Float(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (!v) return std::nullopt;
  if (v->kind == GgufValue::kFloat) return v->f;
  if (v->kind == GgufValue::kInt) return double(v->i);
  return std::nullopt;
}

std::optional<std::string> GgufFile::String(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (!v || v->kind != GgufValue::kString) return std::nullopt;
  return v->s;
}

const GgufTensor* GgufFile::Tensor(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

std::vector<float> GgufTensor::ToFloat() const {
  std::vector<float> out(elements);
  quant::DequantizeRow(type, data, out.data(), int64_t(elements));
  return out;
}

// ---- writer ----

namespace {
template <typename T>
void Put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}
void PutString(std::string& out, const std::string& s) {
  Put<uint64_t>(out, s.size());
  out += s;
}
}  // namespace

void GgufWriter::SetEncoded(const std::string& key, std::string encoded) {
  for (Kv& kv : kv_) {
    if (kv.key == key) {
      kv.encoded = std::move(encoded);
      return;
    }
  }
  kv_.push_back({key, std::move(encoded)});
}

std::string GgufWriter::EncodeU32(uint32_t v) {
  std::string e;
  Put<uint32_t>(e, kU32);
  Put(e, v);
  return e;
}

void GgufWriter::AddTensorBytes(const std::string& name, std::vector<uint64_t> dims, GgmlType type,
                                std::string data) {
  const uint64_t bytes = data.size();
  tensors_.push_back({name, std::move(dims), type, std::move(data), bytes, nullptr});
}

void GgufWriter::AddTensorLater(const std::string& name, std::vector<uint64_t> dims, GgmlType type,
                                uint64_t bytes, std::function<std::string()> produce) {
  tensors_.push_back({name, std::move(dims), type, {}, bytes, std::move(produce)});
}

void GgufWriter::SetString(const std::string& key, const std::string& v) {
  std::string e;
  Put<uint32_t>(e, kString);
  PutString(e, v);
  kv_.push_back({key, e});
}
void GgufWriter::SetU32(const std::string& key, uint32_t v) {
  std::string e;
  Put<uint32_t>(e, kU32);
  Put(e, v);
  kv_.push_back({key, e});
}
void GgufWriter::SetI32(const std::string& key, int32_t v) {
  std::string e;
  Put<uint32_t>(e, kI32);
  Put(e, v);
  kv_.push_back({key, e});
}
void GgufWriter::SetF32(const std::string& key, float v) {
  std::string e;
  Put<uint32_t>(e, kF32);
  Put(e, v);
  kv_.push_back({key, e});
}
void GgufWriter::SetBool(const std::string& key, bool v) {
  std::string e;
  Put<uint32_t>(e, kBool);
  Put<uint8_t>(e, v);
  kv_.push_back({key, e});
}
void GgufWriter::SetStrings(const std::string& key, const std::vector<std::string>& v) {
  std::string e;
  Put<uint32_t>(e, kArray);
  Put<uint32_t>(e, kString);
  Put<uint64_t>(e, v.size());
  for (const std::string& s : v) PutString(e, s);
  kv_.push_back({key, e});
}
void GgufWriter::SetF32s(const std::string& key, const std::vector<float>& v) {
  std::string e;
  Put<uint32_t>(e, kArray);
  Put<uint32_t>(e, kF32);
  Put<uint64_t>(e, v.size());
  for (float x : v) Put(e, x);
  kv_.push_back({key, e});
}
void GgufWriter::SetI32s(const std::string& key, const std::vector<int32_t>& v) {
  std::string e;
  Put<uint32_t>(e, kArray);
  Put<uint32_t>(e, kI32);
  Put<uint64_t>(e, v.size());
  for (int32_t x : v) Put(e, x);
  kv_.push_back({key, e});
}

void GgufWriter::AddTensor(const std::string& name, std::vector<uint64_t> dims,
                           const std::vector<float>& values, GgmlType type) {
  PendingTensor t{name, std::move(dims), type, {}, 0, nullptr};
  switch (type) {
    case GgmlType::kF32:
      t.data.assign(reinterpret_cast<const char*>(values.data()), values.size() * 4);
      break;
    case GgmlType::kF16:
      for (float v : values) Put<uint16_t>(t.data, FloatToHalf(v));
      break;
    case GgmlType::kBF16:
      for (float v : values) Put<uint16_t>(t.data, FloatToBf16(v));
      break;
    case GgmlType::kQ8_0: {
      const size_t blocks = values.size() / kQ8Block;
      t.data.resize(blocks * kQ8BlockBytes);
      quant::QuantizeValues(quant::Type::kQ8_0, values.data(), int64_t(blocks * kQ8Block),
                            reinterpret_cast<uint8_t*>(t.data.data()));
      break;
    }
    default:
      if (unwritable_.empty())
        unwritable_ =
            "tensor '" + name + "': the writer cannot encode " + GgmlTypeName(uint32_t(type));
      break;
  }
  t.bytes = t.data.size();
  tensors_.push_back(std::move(t));
}

namespace {
constexpr uint64_t kWriterAlign = 32;
uint64_t Aligned(uint64_t n) { return (n + kWriterAlign - 1) / kWriterAlign * kWriterAlign; }
}  // namespace

std::string GgufWriter::Header() const {
  std::string out = "GGUF";
  Put<uint32_t>(out, 3);
  Put<uint64_t>(out, tensors_.size());
  Put<uint64_t>(out, kv_.size());
  for (const Kv& kv : kv_) {
    PutString(out, kv.key);
    out += kv.encoded;
  }
  uint64_t offset = 0;
  for (const PendingTensor& t : tensors_) {
    PutString(out, t.name);
    Put<uint32_t>(out, uint32_t(t.dims.size()));
    for (uint64_t d : t.dims) Put(out, d);
    Put<uint32_t>(out, uint32_t(t.type));
    Put(out, offset);
    offset = Aligned(offset + t.bytes);
  }
  out.resize(Aligned(out.size()), '\0');
  return out;
}

Status GgufWriter::Emit(const std::function<bool(std::string_view)>& sink) const {
  if (!unwritable_.empty()) return Status::InvalidArgument(unwritable_);
  const std::string zeros(kWriterAlign, '\0');
  if (!sink(Header())) return Status::Internal("write failed");
  for (const PendingTensor& t : tensors_) {
    std::string produced;
    if (t.produce) produced = t.produce();
    const std::string& data = t.produce ? produced : t.data;
    if (data.size() != t.bytes) {
      return Status::Internal("tensor '" + t.name + "': produced " + std::to_string(data.size()) +
                              " bytes, expected " + std::to_string(t.bytes));
    }
    if (!sink(data) || !sink(std::string_view(zeros).substr(0, Aligned(t.bytes) - t.bytes)))
      return Status::Internal("write failed");
  }
  return Status::Ok();
}

std::string GgufWriter::Bytes() const {
  std::string out;
  const Status s = Emit([&out](std::string_view piece) {
    out += piece;
    return true;
  });
  return s.ok() ? out : std::string();
}

Status GgufWriter::Write(const std::string& path) const {
  if (!unwritable_.empty()) return Status::InvalidArgument(unwritable_);
  const std::string partial = path + ".partial";
  std::FILE* f = std::fopen(partial.c_str(), "wb");
  if (f == nullptr)
    return Status::InvalidArgument("cannot write " + partial + ": " + std::strerror(errno));
  int error = 0;
  const Status emitted = Emit([&](std::string_view piece) {
    if (std::fwrite(piece.data(), 1, piece.size(), f) == piece.size()) return true;
    error = errno;
    return false;
  });
  if (std::fclose(f) != 0 && error == 0) error = errno;
  if (!emitted.ok() || error != 0) {
    std::remove(partial.c_str());
    if (!emitted.ok() && error == 0) return emitted;
    return Status::Internal("cannot write " + path + ": " + std::strerror(error));
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    error = errno;
    std::remove(partial.c_str());
    return Status::Internal("cannot write " + path + ": " + std::strerror(error));
  }
  return Status::Ok();
}

}  // namespace refinery::llm
