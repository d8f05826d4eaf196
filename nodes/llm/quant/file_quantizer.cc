#include "nodes/llm/quant/file_quantizer.h"

#include <algorithm>
#include <cstdio>

#include "nodes/llm/quant/quantize.h"

namespace refinery::llm::quant {
namespace {

enum class Mix { kPlain, kSmall, kMedium, kLarge };  // llama.cpp's _S, _M and _L variants

struct FileType {
  const char* name;
  uint32_t id;  // llama_ftype, written as general.file_type
  Type base;
  Mix mix;
};

constexpr FileType kFileTypes[] = {
    {"F16", 1, Type::kF16, Mix::kPlain},       {"BF16", 32, Type::kBF16, Mix::kPlain},
    {"Q4_0", 2, Type::kQ4_0, Mix::kPlain},     {"Q4_1", 3, Type::kQ4_1, Mix::kPlain},
    {"Q5_0", 8, Type::kQ5_0, Mix::kPlain},     {"Q5_1", 9, Type::kQ5_1, Mix::kPlain},
    {"Q8_0", 7, Type::kQ8_0, Mix::kPlain},     {"Q2_K", 10, Type::kQ2_K, Mix::kPlain},
    {"Q3_K_S", 11, Type::kQ3_K, Mix::kSmall},  {"Q3_K_M", 12, Type::kQ3_K, Mix::kMedium},
    {"Q3_K_L", 13, Type::kQ3_K, Mix::kLarge},  {"Q4_K_S", 14, Type::kQ4_K, Mix::kSmall},
    {"Q4_K_M", 15, Type::kQ4_K, Mix::kMedium}, {"Q5_K_S", 16, Type::kQ5_K, Mix::kSmall},
    {"Q5_K_M", 17, Type::kQ5_K, Mix::kMedium}, {"Q6_K", 18, Type::kQ6_K, Mix::kPlain},
};

const FileType* FindFileType(std::string_view name) {
  if (name == "Q3_K") name = "Q3_K_M";
  if (name == "Q4_K") name = "Q4_K_M";
  if (name == "Q5_K") name = "Q5_K_M";
  for (const FileType& f : kFileTypes)
    if (name == f.name) return &f;
  return nullptr;
}

int Layer(const std::string& name) {
  int layer = -1;
  if (std::sscanf(name.c_str(), "blk.%d.", &layer) != 1) return -1;
  return layer;
}

bool Contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// The first and last eighth of the layers, and every third one between.
bool MoreBits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// Per-tensor type choice, in tensor order (the attn_v and ffn_down counters follow it).
class Chooser {
 public:
  // `gqa`: query heads per key/value head (Q2_K gives attn_v more bits when it is 4 or more).
  Chooser(const FileType& f, const std::vector<const GgufTensor*>& tensors, bool has_output,
          int64_t gqa)
      : f_(f), has_output_(has_output), gqa_(gqa) {
    for (const GgufTensor* t : tensors) {
      n_attn_v_ += Contains(t->name, "attn_v.weight");
      n_ffn_down_ += Contains(t->name, "ffn_down");
    }
  }

  // Whether the tensor is a weight matrix to convert at all.
  static bool Converts(const GgufTensor& t) {
    return t.dims.size() >= 2 && t.name.size() > 7 &&
           t.name.compare(t.name.size() - 7, 7, ".weight") == 0;
  }

  Type Choose(const GgufTensor& t) {
    Type type = f_.base;
    const int64_t cols = int64_t(t.dims[0]);
    if (!Info(uint32_t(type))->quantized) return type;
    if (t.name == "output.weight" || (!has_output_ && t.name == "token_embd.weight")) {
      if (cols % Info(uint32_t(type))->block_values != 0)
        type = Type::kQ8_0;
      else if (type != Type::kQ8_0)
        type = Type::kQ6_K;
    } else if (Contains(t.name, "attn_v.weight")) {
      if (f_.base == Type::kQ2_K)
        type = gqa_ >= 4 ? Type::kQ4_K : Type::kQ3_K;
      else if (f_.base == Type::kQ3_K && f_.mix == Mix::kMedium)
        type = i_attn_v_ < 2 ? Type::kQ5_K : Type::kQ4_K;
      else if (f_.base == Type::kQ3_K && f_.mix == Mix::kLarge)
        type = Type::kQ5_K;
      else if (f_.mix == Mix::kMedium && MoreBits(i_attn_v_, n_attn_v_))
        type = Type::kQ6_K;
      else if (f_.mix == Mix::kSmall && f_.base == Type::kQ4_K && i_attn_v_ < 4)
        type = Type::kQ5_K;
      ++i_attn_v_;
    } else if (Contains(t.name, "ffn_down")) {
      if (f_.base == Type::kQ2_K)
        type = Type::kQ3_K;
      else if (f_.base == Type::kQ3_K && f_.mix == Mix::kMedium)
        type = i_ffn_down_ < n_ffn_down_ / 16 ? Type::kQ5_K : Type::kQ4_K;
      else if (f_.base == Type::kQ3_K && f_.mix == Mix::kLarge)
        type = Type::kQ5_K;
      else if (f_.mix == Mix::kMedium && MoreBits(i_ffn_down_, n_ffn_down_))
        type = Type::kQ6_K;
      else if (f_.mix == Mix::kSmall && f_.base == Type::kQ4_K && i_ffn_down_ < n_ffn_down_ / 8)
        type = Type::kQ5_K;
      ++i_ffn_down_;
    } else if (Contains(t.name, "attn_output.weight")) {
      if (f_.base == Type::kQ2_K) type = Type::kQ3_K;
      if (f_.base == Type::kQ3_K && f_.mix == Mix::kMedium) type = Type::kQ4_K;
      if (f_.base == Type::kQ3_K && f_.mix == Mix::kLarge) type = Type::kQ5_K;
    } else if (Contains(t.name, "attn_qkv.weight")) {
      if (f_.base == Type::kQ3_K && f_.mix != Mix::kSmall) type = Type::kQ4_K;
      if (f_.base == Type::kQ4_K && f_.mix == Mix::kMedium) type = Type::kQ5_K;
      if (f_.base == Type::kQ5_K && f_.mix == Mix::kMedium) type = Type::kQ6_K;
    }
    // Rows a K format cannot hold fall back to a 32-value format, then to F16, as
    // llama-quantize does.
    if (cols % Info(uint32_t(type))->block_values != 0) {
      if (type == Type::kQ2_K || type == Type::kQ3_K) type = Type::kIQ4_NL;
      if (type == Type::kQ4_K) type = Type::kQ5_0;
      if (type == Type::kQ5_K) type = Type::kQ5_1;
      if (type == Type::kQ6_K) type = Type::kQ8_0;
      if (cols % Info(uint32_t(type))->block_values != 0) type = Type::kF16;
    }
    return type;
  }

 private:
  const FileType& f_;
  bool has_output_;
  int64_t gqa_;
  int n_attn_v_ = 0, n_ffn_down_ = 0, i_attn_v_ = 0, i_ffn_down_ = 0;
};

}  // namespace

std::vector<std::string> FileTypeNames() {
  std::vector<std::string> names;
  for (const FileType& f : kFileTypes) names.push_back(f.name);
  return names;
}

namespace {

// What QuantizeFile writes: the file type, the tensors in llama.cpp's order and each one's type.
struct Plan {
  const FileType* file_type;
  std::vector<const GgufTensor*> order;
  std::vector<Type> to;
};

StatusOr<Plan> MakePlan(const GgufFile& file, const std::string& in, std::string_view file_type) {
  const FileType* f = FindFileType(file_type);
  if (f == nullptr) {
    std::string names;
    for (const std::string& n : FileTypeNames()) names += (names.empty() ? "" : ", ") + n;
    return Status::InvalidArgument("unknown type '" + std::string(file_type) + "' (" + names + ")");
  }
  const std::string arch = file.String("general.architecture").value_or("");
  if (arch != "llama" && arch != "qwen2") {
    return Status::InvalidArgument(
        in + ": architecture '" + arch +
        "': quantize knows the tensor roles of llama and qwen2 files only");
  }
  for (const GgufTensor& t : file.tensors()) {
    if (Info(uint32_t(t.type))->quantized) {
      return Status::InvalidArgument(in + ": tensor '" + t.name + "' is already " +
                                     Info(uint32_t(t.type))->name +
                                     "; quantize from the F32, F16 or BF16 file");
    }
  }
  Plan plan{f, {}, {}};
  // llama.cpp's order: tensors outside the blocks first, then block by block, by name within.
  for (const GgufTensor& t : file.tensors()) plan.order.push_back(&t);
  std::stable_sort(plan.order.begin(), plan.order.end(),
                   [](const GgufTensor* a, const GgufTensor* b) {
                     const int la = Layer(a->name), lb = Layer(b->name);
                     return la != lb ? la < lb : a->name < b->name;
                   });
  const int64_t heads = file.Int(arch + ".attention.head_count").value_or(1);
  const int64_t kv_heads = file.Int(arch + ".attention.head_count_kv").value_or(heads);
  Chooser chooser(*f, plan.order, file.Tensor("output.weight") != nullptr,
                  kv_heads > 0 ? heads / kv_heads : 1);
  for (const GgufTensor* t : plan.order)
    plan.to.push_back(Chooser::Converts(*t) ? chooser.Choose(*t) : t->type);
  return plan;
}

uint64_t BytesAs(const GgufTensor& t, Type to) {
  if (to == t.type) return t.bytes;
  const TypeInfo& info = *Info(uint32_t(to));
  return t.elements / uint64_t(info.block_values) * uint64_t(info.block_bytes);
}

QuantizeSummary Summarize(const Plan& plan) {
  QuantizeSummary summary;
  for (size_t i = 0; i < plan.order.size(); ++i) {
    const GgufTensor& t = *plan.order[i];
    summary.tensors.push_back({t.name, t.type, plan.to[i]});
    summary.bytes_in += t.bytes;
    summary.bytes_out += BytesAs(t, plan.to[i]);
  }
  return summary;
}

}  // namespace

StatusOr<QuantizeSummary> PlanQuantization(const std::string& in, std::string_view file_type) {
  auto opened = GgufFile::Open(in);
  if (!opened.ok()) return opened.status();
  auto plan = MakePlan(**opened, in, file_type);
  if (!plan.ok()) return plan.status();
  return Summarize(*plan);
}

StatusOr<QuantizeSummary> QuantizeFile(const std::string& in, const std::string& out,
                                       std::string_view file_type) {
  auto opened = GgufFile::Open(in);
  if (!opened.ok()) return opened.status();
  const GgufFile& file = **opened;
  auto planned = MakePlan(file, in, file_type);
  if (!planned.ok()) return planned.status();
  const Plan& plan = *planned;

  GgufWriter w;
  for (const GgufFile::RawKv& kv : file.raw_metadata()) {
    if (kv.key == "general.alignment") continue;  // the writer aligns to 32, the default
    w.SetEncoded(kv.key, kv.encoded);
  }
  w.SetEncoded("general.quantization_version", GgufWriter::EncodeU32(2));
  w.SetEncoded("general.file_type", GgufWriter::EncodeU32(plan.file_type->id));
  // Each tensor is converted when the writer reaches it, so the output is never held whole.
  for (size_t i = 0; i < plan.order.size(); ++i) {
    const GgufTensor* t = plan.order[i];
    const Type to = plan.to[i];
    const uint64_t bytes = BytesAs(*t, to);
    if (to != t->type) {
      w.AddTensorLater(t->name, t->dims, to, bytes, [t, to, bytes] {
        const std::vector<float> values = t->ToFloat();
        std::string data(bytes, '\0');
        QuantizeValues(to, values.data(), int64_t(values.size()),
                       reinterpret_cast<uint8_t*>(data.data()));
        return data;
      });
    } else {
      w.AddTensorLater(t->name, t->dims, to, bytes, [t] {
        return std::string(reinterpret_cast<const char*>(t->data), t->bytes);
      });
    }
  }
  if (Status s = w.Write(out); !s.ok()) return s;
  return Summarize(plan);
}

}  // namespace refinery::llm::quant
