// summarize: extractive summarization of a text field down to a token budget (`ratio` of its
// tokens or `max_tokens`, counted with the pipeline's tiktoken encoding) or a number of
// `sentences`, keeping the original sentence order. See nodes/summarize/summarizer.h.
//
//   - {id: summarize, type: summarize, field: text, ratio: 0.3, method: textrank}
//   - {id: brief, type: summarize, max_tokens: 256, lambda: 0.6, dedupe_threshold: 0.8}
//
// Writes the summary to `output` and, on the item: <id>.tokens_before, <id>.tokens_after,
// <id>.tokens_saved, <id>.sentences_before, <id>.sentences_after, <id>.duplicates_removed and
// <id>.method (text).
#include <cmath>
#include <string>
#include <vector>

#include "graph/registry.h"
#include "nodes/summarize/summarizer.h"

namespace refinery::nodes {
namespace {

summarize::Method ParseMethod(const std::string& m) {
  if (m == "lead") return summarize::Method::kLead;
  if (m == "lexrank") return summarize::Method::kLexRank;
  if (m == "centroid") return summarize::Method::kCentroid;
  return summarize::Method::kTextRank;
}

text::LineBreaks ParseLineBreaks(const std::string& m) {
  if (m == "sentence") return text::LineBreaks::kSentence;
  if (m == "wrap") return text::LineBreaks::kWrap;
  return text::LineBreaks::kAuto;
}

class Summarize : public Node {
 public:
  Summarize(const NodeConfig& c, std::shared_ptr<const text::TiktokenEncoding> encoding)
      : id_(c.id),
        field_(c.options.String("field")),
        output_(c.options.String("output")),
        encoding_(std::move(encoding)) {
    const OptionValues& o = c.options;
    options_.method = ParseMethod(o.String("method"));
    options_.ratio = o.Double("ratio");
    options_.max_tokens = size_t(o.Int("max_tokens"));
    options_.sentences = size_t(o.Int("sentences"));
    options_.lambda = o.Double("lambda");
    options_.fill_until = o.Double("fill_until");
    options_.dedupe_threshold = o.Double("dedupe_threshold");
    options_.position_bias = o.Double("position_bias");
    options_.damping = o.Double("damping");
    options_.lexrank_threshold = o.Double("lexrank_threshold");
    options_.chunk_sentences = size_t(o.Int("chunk_sentences"));
    options_.max_neighbours = size_t(o.Int("neighbours"));
    options_.line_breaks = ParseLineBreaks(o.String("line_breaks"));
    options_.stem = o.Bool("stem");
    const std::string& idf = o.String("idf");
    options_.idf = idf == "full"   ? summarize::IdfMode::kFull
                   : idf == "none" ? summarize::IdfMode::kNone
                                   : summarize::IdfMode::kSqrt;
    options_.joiner = o.String("joiner");
  }

  void Process(Item& item) const override {
    summarize::Summary s = summarize::Summarize(*item.text(field_), options_, *encoding_);
    item.set_number(id_ + ".tokens_before", double(s.tokens_before));
    item.set_number(id_ + ".tokens_after", double(s.tokens_after));
    item.set_number(id_ + ".tokens_saved", double(s.tokens_before - s.tokens_after));
    item.set_number(id_ + ".sentences_before", double(s.sentences_before));
    item.set_number(id_ + ".sentences_after", double(s.sentences_after));
    item.set_number(id_ + ".duplicates_removed", double(s.duplicates_removed));
    item.set_text(id_ + ".method", summarize::MethodName(options_.method));
    item.set_text(output_, std::move(s.text));
  }

 private:
  std::string id_;
  std::string field_;
  std::string output_;
  std::shared_ptr<const text::TiktokenEncoding> encoding_;
  summarize::SummarizerOptions options_;
};

FieldIo SummarizeIo(const NodeConfig& c) {
  const std::string& id = c.id;
  FieldIo io{{c.options.String("field")}, {}, {c.options.String("output"), id + ".method"}};
  for (const char* k : {".tokens_before", ".tokens_after", ".tokens_saved", ".sentences_before",
                        ".sentences_after", ".duplicates_removed"}) {
    io.writes.push_back(id + k);
  }
  io.metrics = {id + ".tokens_before", id + ".tokens_after", id + ".tokens_saved"};
  io.tokens_in = id + ".tokens_before";
  io.tokens_out = id + ".tokens_after";
  io.saves_tokens = true;
  return io;
}

}  // namespace

REFINERY_REGISTER_NODE(summarize) {
  NodeContract c;
  c.type = "summarize";
  c.summary =
      "extractive summary within a token budget (lead, textrank, lexrank, centroid; MMR, "
      "near-duplicate removal)";
  c.version = "1";
  c.options.String("field", "text", "text field to summarize")
      .String("output", "summary", "field to write the summary to")
      .Enum("method", "centroid", {"lead", "textrank", "lexrank", "centroid"},
            "how sentences are ranked")
      .Double("ratio", 0, 0, 1, "target: this share of the field's tokens")
      .Int("max_tokens", 0, 0, 100'000'000, "target: at most this many tokens")
      .Int("sentences", 0, 0, 1'000'000, "target: this many sentences")
      .Double("lambda", 0.8, 0, 1,
              "MMR: 1 ranks by relevance only, lower penalises redundancy more")
      .Double("fill_until", 0.5, 0, 1,
              "once this share of the token budget is used, the next-ranked sentence that does not "
              "fit ends the summary (1: fill the budget with whatever shorter sentences fit)")
      .Double("dedupe_threshold", 0.7, 0, 1,
              "drop sentences whose word 3-shingles overlap an earlier one this much (Jaccard); 0 "
              "keeps them")
      .Double("position_bias", 0.0, 0, 1, "0..1: prefer earlier sentences (news-style text)")
      .Double("damping", 0.85, 0.01, 0.99, "PageRank damping factor (textrank, lexrank)")
      .Enum("idf", "sqrt", {"full", "sqrt", "none"},
            "term weight: tf x idf (full), tf x sqrt(idf), or tf alone (none)")
      .Bool("stem", false,
            "Porter-stem words before comparing sentences (off scored higher on BBC and XSum)")
      .Double("lexrank_threshold", 0.1, 0, 1, "cosine similarity that makes a LexRank edge")
      .Int("chunk_sentences", 1000, 10, 1'000'000,
           "long documents are ranked in chunks of this many sentences (no n x n matrix)")
      .Int("neighbours", 50, 1, 100'000, "similarity-graph edges kept per sentence (its strongest)")
      .Enum(
          "line_breaks", "auto", {"auto", "sentence", "wrap"},
          "sentence: every line ends a sentence; wrap: single newlines are spaces; auto: per text")
      .String("joiner", "\n", "put between the selected sentences");
  text::DeclareEncodingOptions(c.options);
  c.reads = "`field`";
  c.writes =
      "`output`, `<id>.tokens_before|after|saved`, `<id>.sentences_before|after`, "
      "`<id>.duplicates_removed`, `<id>.method`";
  c.check = [](const OptionValues& o) {
    std::vector<std::string> problems;
    const int targets =
        (o.Double("ratio") > 0) + (o.Int("max_tokens") > 0) + (o.Int("sentences") > 0);
    if (targets != 1) problems.push_back("set exactly one target: ratio, max_tokens or sentences");
    return problems;
  };
  c.io = SummarizeIo;
  c.factory = [](const NodeConfig& config) -> StatusOr<std::unique_ptr<Node>> {
    auto encoding = text::EncodingFromOptions(config.options);
    if (!encoding.ok()) return encoding.status();
    return std::unique_ptr<Node>(std::make_unique<Summarize>(config, *encoding));
  };
  return c;
}

}  // namespace refinery::nodes
