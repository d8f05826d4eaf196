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

struct TokenizeOptions {
  text::EncodingOptions encoding;
  std::vector<std::string> fields;
  bool ids;
  std::string special;
  std::vector<std::string> allowed_special;
};

class Tokenize : public Node {
 public:
  Tokenize(const NodeConfig&, const TokenizeOptions& o,
           std::shared_ptr<const text::TiktokenEncoding> encoding)
      : encoding_(std::move(encoding)),
        fields_(o.fields),
        ids_(o.ids),
        policy_(text::SpecialPolicyFrom(o.special, o.allowed_special)) {}

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

FieldIo TokenizeIo(const NodeConfig&, const TokenizeOptions& o) {
  const std::vector<std::string>& fields = o.fields;
  FieldIo io{fields, {}, {}};
  for (const std::string& f : fields) {
    if (o.ids) io.writes.push_back(f + ".tokens");
    io.writes.push_back(f + ".token_count");
  }
  if (!fields.empty()) io.tokens_in = io.tokens_out = fields.front() + ".token_count";
  return io;
}

}  // namespace

REFINERY_REGISTER_NODE(tokenize) {
  BoundContract<TokenizeOptions> c;
  c.type = "tokenize";
  c.summary = "exact tiktoken token ids and counts (r50k, p50k, cl100k, o200k)";
  c.version = "1";
  using O = TokenizeOptions;
  c.bind.Group(&O::encoding, text::BindEncodingOptions)
      .StringList("fields", &O::fields, {"text"}, {}, "text fields to tokenize")
      .NonEmpty()
      .Bool("ids", &O::ids, true, "write token ids (false: counts only, faster)")
      .Enum("special", &O::special, "error", {"error", "allow", "ordinary"},
            "special-token text: fail the item, encode as special tokens, or as plain text")
      .StringList("allowed_special", &O::allowed_special, {}, {},
                  "allow just these special tokens (others fail)");
  c.reads = "each of `fields`";
  c.writes = "`<field>.tokens`, `<field>.token_count`";
  c.default_concurrency = Concurrency::Unlimited();
  c.fields = TokenizeIo;
  c.make = text::ConstructWithEncoding<Tokenize, O>();
  return c.Finish();
}

}  // namespace refinery::nodes
