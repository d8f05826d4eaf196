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

struct SummarizeOptions {
  std::string field;
  std::string output;
  summarize::SummarizerOptions summarizer;  // the algorithm's settings, bound in place
  text::EncodingOptions encoding;
};

class Summarize : public Node {
 public:
  Summarize(const NodeConfig& c, const SummarizeOptions& o,
            std::shared_ptr<const text::TiktokenEncoding> encoding)
      : id_(c.id),
        field_(o.field),
        output_(o.output),
        encoding_(std::move(encoding)),
        options_(o.summarizer) {}

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

FieldIo SummarizeIo(const NodeConfig& c, const SummarizeOptions& o) {
  const std::string& id = c.id;
  FieldIo io{{o.field}, {}, {o.output, id + ".method"}};
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

// The algorithm's settings, each bound straight into summarize::SummarizerOptions.
void BindSummarizerOptions(OptionBinding<summarize::SummarizerOptions>& bind) {
  using summarize::IdfMode;
  using summarize::Method;
  using S = summarize::SummarizerOptions;
  bind.Enum("method", &S::method, "centroid",
            {{"lead", Method::kLead},
             {"textrank", Method::kTextRank},
             {"lexrank", Method::kLexRank},
             {"centroid", Method::kCentroid}},
            "how sentences are ranked")
      .Double("ratio", &S::ratio, 0, 0, 1, "target: this share of the field's tokens")
      .Int("max_tokens", &S::max_tokens, 0, 0, 100'000'000, "target: at most this many tokens")
      .Int("sentences", &S::sentences, 0, 0, 1'000'000, "target: this many sentences")
      .Double("lambda", &S::lambda, 0.8, 0, 1,
              "MMR: 1 ranks by relevance only, lower penalises redundancy more")
      .Double("fill_until", &S::fill_until, 0.5, 0, 1,
              "once this share of the token budget is used, the next-ranked sentence that does not "
              "fit ends the summary (1: fill the budget with whatever shorter sentences fit)")
      .Double("dedupe_threshold", &S::dedupe_threshold, 0.7, 0, 1,
              "drop sentences whose word 3-shingles overlap an earlier one this much (Jaccard); 0 "
              "keeps them")
      .Double("position_bias", &S::position_bias, 0.0, 0, 1,
              "0..1: prefer earlier sentences (news-style text)")
      .Double("damping", &S::damping, 0.85, 0.01, 0.99,
              "PageRank damping factor (textrank, lexrank)")
      .Enum("idf", &S::idf, "sqrt",
            {{"full", IdfMode::kFull}, {"sqrt", IdfMode::kSqrt}, {"none", IdfMode::kNone}},
            "term weight: tf x idf (full), tf x sqrt(idf), or tf alone (none)")
      .Bool("stem", &S::stem, false,
            "Porter-stem words before comparing sentences (off scored higher on BBC and XSum)")
      .Double("lexrank_threshold", &S::lexrank_threshold, 0.1, 0, 1,
              "cosine similarity that makes a LexRank edge")
      .Int("chunk_sentences", &S::chunk_sentences, 1000, 10, 1'000'000,
           "long documents are ranked in chunks of this many sentences (no n x n matrix)")
      .Int("neighbours", &S::max_neighbours, 50, 1, 100'000,
           "similarity-graph edges kept per sentence (its strongest)")
      .Enum(
          "line_breaks", &S::line_breaks, "auto",
          {{"auto", text::LineBreaks::kAuto},
           {"sentence", text::LineBreaks::kSentence},
           {"wrap", text::LineBreaks::kWrap}},
          "sentence: every line ends a sentence; wrap: single newlines are spaces; auto: per text")
      .String("joiner", &S::joiner, "\n", "put between the selected sentences");
}

}  // namespace

REFINERY_REGISTER_NODE(summarize) {
  BoundContract<SummarizeOptions> c;
  c.type = "summarize";
  c.summary =
      "extractive summary within a token budget (lead, textrank, lexrank, centroid; MMR, "
      "near-duplicate removal)";
  c.version = "1";
  c.bind.String("field", &SummarizeOptions::field, "text", "text field to summarize")
      .NonEmpty()
      .String("output", &SummarizeOptions::output, "summary", "field to write the summary to")
      .NonEmpty()
      .Group(&SummarizeOptions::summarizer, BindSummarizerOptions)
      .Group(&SummarizeOptions::encoding, text::BindEncodingOptions);
  c.reads = "`field`";
  c.writes =
      "`output`, `<id>.tokens_before|after|saved`, `<id>.sentences_before|after`, "
      "`<id>.duplicates_removed`, `<id>.method`";
  c.check_options = [](const SummarizeOptions& o) {
    std::vector<std::string> problems;
    const summarize::SummarizerOptions& s = o.summarizer;
    const int targets = (s.ratio > 0) + (s.max_tokens > 0) + (s.sentences > 0);
    if (targets != 1) problems.push_back("set exactly one target: ratio, max_tokens or sentences");
    return problems;
  };
  c.fields = SummarizeIo;
  c.make = text::ConstructWithEncoding<Summarize, SummarizeOptions>();
  return c.Finish();
}

}  // namespace refinery::nodes
