// tokenize: exact tiktoken token ids and counts for text fields, so every later decision
// (budgets, costs, savings) uses the real number of tokens.
//
//   - {id: tok, type: tokenize, encoding: cl100k_base, fields: [text, reference]}
//   - {id: cnt, type: tokenize, encoding: o200k_base, ids: false}      # count only, cheaper
//
// Writes `<field>.tokens` (ids, unless `ids: false`) and `<field>.token_count` for each field.
// Special-token text ("<|endoftext|>") fails the item by default, as tiktoken's encode() does;
// `special: allow` encodes it as the special token, `special: ordinary` as plain text.
#include <string>
#include <vector>

#include "graph/registry.h"
#include "nodes/text/tiktoken_encoding.h"

namespace refinery::nodes {
namespace {

class Tokenize : public Node {
 public:
  Tokenize(const NodeConfig& c, std::shared_ptr<const text::TiktokenEncoding> encoding)
      : encoding_(std::move(encoding)),
        fields_(c.options.StringList("fields")),
        ids_(c.options.Bool("ids")),
        policy_(text::SpecialPolicyFrom(c.options.String("special"),
                                        c.options.StringList("allowed_special"))) {}

  void Process(Item& item) const override {
    for (const std::string& field : fields_) {
      const std::string& value = *item.text(field);
      if (ids_) {
        StatusOr<std::vector<uint32_t>> ids = encoding_->Encode(value, policy_);
        if (!ids.ok()) throw std::runtime_error("field '" + field + "': " + ids.status().message());
        item.set_number(field + ".token_count", double(ids->size()));
        item.set_tokens(field + ".tokens", TokenIds(ids->begin(), ids->end()));
      } else {
        StatusOr<size_t> n = encoding_->Count(value, policy_);
        if (!n.ok()) throw std::runtime_error("field '" + field + "': " + n.status().message());
        item.set_number(field + ".token_count", double(*n));
      }
    }
  }

 private:
  std::shared_ptr<const text::TiktokenEncoding> encoding_;
  std::vector<std::string> fields_;
  bool ids_;
  text::SpecialPolicy policy_;
};

FieldIo TokenizeIo(const NodeConfig& c) {
  const std::vector<std::string>& fields = c.options.StringList("fields");
  FieldIo io{fields, {}, {}};
  for (const std::string& f : fields) {
    if (c.options.Bool("ids")) io.writes.push_back(f + ".tokens");
    io.writes.push_back(f + ".token_count");
  }
  if (!fields.empty()) io.tokens_in = io.tokens_out = fields.front() + ".token_count";
  return io;
}

}  // namespace

REFINERY_REGISTER_NODE(tokenize) {
  NodeContract c;
  c.type = "tokenize";
  c.summary = "exact tiktoken token ids and counts (r50k, p50k, cl100k, o200k)";
  c.version = "1";
  text::DeclareEncodingOptions(c.options);
  c.options.StringList("fields", {"text"}, {}, "text fields to tokenize")
      .Bool("ids", true, "write token ids (false: counts only, faster)")
      .Enum("special", "error", {"error", "allow", "ordinary"},
            "special-token text: fail the item, encode as special tokens, or as plain text")
      .StringList("allowed_special", {}, {}, "allow just these special tokens (others fail)");
  c.reads = "each of `fields`";
  c.writes = "`<field>.tokens`, `<field>.token_count`";
  c.default_concurrency = Concurrency::Unlimited();
  c.io = TokenizeIo;
  c.factory = [](const NodeConfig& config) -> StatusOr<std::unique_ptr<Node>> {
    auto encoding = text::EncodingFromOptions(config.options);
    if (!encoding.ok()) return encoding.status();
    return std::unique_ptr<Node>(std::make_unique<Tokenize>(config, *encoding));
  };
  return c;
}

}  // namespace refinery::nodes
