// score: how much meaning a summary kept and how cheaply: ROUGE (exactly as rouge-score), against
// the item's reference(s) when present and otherwise against the source (coverage); compression,
// tokens saved, redundancy and key-term coverage; and a weighted composite with a pass threshold
// that a refinement loop can test.
//
//   - {id: score, type: score, summary: summary, metrics: [rouge1, rouge2, rougeLsum],
//      weights: {rougeLsum: 0.6, coverage: 0.4}, threshold: 0.35}
//
// Writes, for each metric m: <id>.m.p, <id>.m.r, <id>.m.f; and <id>.against (reference |
// references | source), <id>.compression (summary tokens / source tokens), <id>.tokens_saved,
// <id>.redundancy (repeated trigram rate), <id>.coverage (share of the source's key terms kept),
// <id>.total (weighted mean of the weighted measures, 0..1) and <id>.pass (1 when total >=
// threshold, else 0). Several references ("references", joined by U+001E): per metric the best F1.
#include <algorithm>
#include <string>
#include <vector>

#include "graph/registry.h"
#include "graph/request.h"
#include "nodes/rouge/rouge.h"
#include "nodes/rouge/summary_measures.h"
#include "nodes/text/tiktoken_encoding.h"

namespace refinery::nodes {
namespace {

std::vector<std::string> RougeNames() {
  std::vector<std::string> names;
  for (int n = 1; n <= 9; ++n) names.push_back("rouge" + std::to_string(n));
  names.push_back("rougeL");
  names.push_back("rougeLsum");
  return names;
}

std::vector<std::string> WeightKeys() {
  std::vector<std::string> keys = RougeNames();
  keys.insert(keys.end(), {"coverage", "compression", "non_redundancy"});
  return keys;
}

std::vector<std::string> SplitMulti(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t end = s.find(kMultiTextSeparator, start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

struct ScoreOptions {
  std::string summary;
  std::string reference;
  std::string references;
  std::string source;
  std::vector<std::string> metrics;
  bool stem;
  bool split_summaries;
  size_t key_terms;
  Weights weights;
  double threshold;
  text::EncodingOptions encoding;
};

class Score : public Node {
 public:
  Score(const NodeConfig& c, const ScoreOptions& o,
        std::shared_ptr<const text::TiktokenEncoding> encoding)
      : id_(c.id),
        summary_(o.summary),
        reference_(o.reference),
        references_(o.references),
        source_(o.source),
        scorer_(*rouge::ParseRougeTypes(o.metrics), o.stem, o.split_summaries),
        key_terms_(o.key_terms),
        weights_(o.weights),
        threshold_(o.threshold),
        encoding_(std::move(encoding)) {}

  void Process(Item& item) const override {
    const std::string& summary = *item.text(summary_);
    const std::string* source = item.text(source_);
    std::map<std::string, double> measures;  // the composite's inputs, each in [0, 1]

    std::vector<rouge::RougeScore> scores;
    if (const std::string* refs = item.text(references_); refs && !refs->empty()) {
      scores = scorer_.ScoreMulti(SplitMulti(*refs), summary);
      item.set_text(id_ + ".against", "references");
    } else if (const std::string* ref = item.text(reference_)) {
      scores = scorer_.Score(*ref, summary);
      item.set_text(id_ + ".against", "reference");
    } else if (source) {
      scores = scorer_.Score(*source, summary);
      item.set_text(id_ + ".against", "source");
    } else {
      throw std::runtime_error("no '" + reference_ + "', '" + references_ + "' or '" + source_ +
                               "' field to score against");
    }
    for (size_t k = 0; k < scores.size(); ++k) {
      const std::string& name = scorer_.types()[k].name;
      item.set_number(id_ + "." + name + ".p", scores[k].precision);
      item.set_number(id_ + "." + name + ".r", scores[k].recall);
      item.set_number(id_ + "." + name + ".f", scores[k].fmeasure);
      measures[name] = scores[k].fmeasure;
    }

    const double redundancy = rouge::RepeatedNgramRate(rouge::Tokenize(summary, false), 3);
    item.set_number(id_ + ".redundancy", redundancy);
    measures["non_redundancy"] = 1 - redundancy;
    if (source) {
      const size_t in = encoding_->CountOrdinary(*source), out = encoding_->CountOrdinary(summary);
      const double compression = in ? double(out) / double(in) : 1.0;
      item.set_number(id_ + ".compression", compression);
      item.set_number(id_ + ".tokens_saved", double(in) - double(out));
      measures["compression"] = std::clamp(1 - compression, 0.0, 1.0);
      const double coverage = rouge::KeyTermCoverage(rouge::KeyTerms(*source, key_terms_), summary);
      item.set_number(id_ + ".coverage", coverage);
      measures["coverage"] = coverage;
    }

    double total = 0, weight_sum = 0;
    for (const auto& [name, weight] : weights_) {
      auto it = measures.find(name);
      if (it == measures.end()) {
        throw std::runtime_error("weight '" + name + "' needs the source field '" + source_ +
                                 "', which this item does not have");
      }
      total += weight * it->second;
      weight_sum += weight;
    }
    total = weight_sum > 0 ? total / weight_sum : 0;
    item.set_number(id_ + ".total", total);
    item.set_number(id_ + ".pass", total >= threshold_ ? 1.0 : 0.0);
  }

 private:
  std::string id_, summary_, reference_, references_, source_;
  rouge::RougeScorer scorer_;
  size_t key_terms_;
  Weights weights_;
  double threshold_;
  std::shared_ptr<const text::TiktokenEncoding> encoding_;
};

FieldIo ScoreIo(const NodeConfig& c, const ScoreOptions& o) {
  const std::string& id = c.id;
  FieldIo io{{o.summary}, {o.reference, o.references, o.source}, {}};
  for (const std::string& metric : o.metrics) {
    for (const char* part : {".p", ".r", ".f"}) io.writes.push_back(id + "." + metric + part);
    for (const char* part : {".f", ".p", ".r"}) io.metrics.push_back(id + "." + metric + part);
  }
  for (const char* k : {".against", ".compression", ".tokens_saved", ".redundancy", ".coverage",
                        ".total", ".pass"}) {
    io.writes.push_back(id + k);
  }
  for (const char* k :
       {".compression", ".tokens_saved", ".redundancy", ".coverage", ".total", ".pass"}) {
    io.metrics.push_back(id + k);
  }
  return io;
}

}  // namespace

REFINERY_REGISTER_NODE(score) {
  BoundContract<ScoreOptions> c;
  c.type = "score";
  c.summary =
      "ROUGE (as rouge-score) against reference(s) or source, compression, redundancy, "
      "key-term coverage, composite score and pass";
  c.version = "1";
  using O = ScoreOptions;
  c.bind.String("summary", &O::summary, "summary", "field to score")
      .NonEmpty()
      .String("reference", &O::reference, "reference", "gold text field (used when present)")
      .String("references", &O::references, "references",
              "several gold texts joined by U+001E (best F1 per metric)")
      .String("source", &O::source, "text",
              "source text: compression and coverage; ROUGE target when no reference")
      .StringList("metrics", &O::metrics, {"rouge1", "rouge2", "rougeLsum"}, RougeNames(),
                  "ROUGE types to compute")
      .Bool("stem", &O::stem, true,
            "Porter-stem tokens longer than 3 characters (rouge-score use_stemmer)")
      .Bool("split_summaries", &O::split_summaries, false,
            "rougeLsum: split sentences (ICU) instead of on newlines")
      .Int("key_terms", &O::key_terms, 20, 1, 10'000,
           "how many top tf-idf source terms coverage checks")
      .WeightMap(
          "weights", &O::weights, {{"rouge1", 0.3}, {"rouge2", 0.3}, {"rougeLsum", 0.4}},
          WeightKeys(), 0, 1000,
          "composite: weight per measure (ROUGE F1 by type, coverage, compression, non_redundancy)")
      .Double("threshold", &O::threshold, 0.4, 0, 1,
              "the composite total at or above which <id>.pass is 1")
      .Group(&O::encoding, text::BindEncodingOptions);
  c.reads = "`summary`; `reference` or `references` or `source`";
  c.writes =
      "`<id>.<metric>.p|r|f`, "
      "`<id>.against|compression|tokens_saved|redundancy|coverage|total|pass`";
  c.check_options = [](const O& o) {
    std::vector<std::string> problems;
    const auto& metrics = o.metrics;
    if (metrics.empty()) problems.push_back("metrics must name at least one ROUGE type");
    double sum = 0;
    for (const auto& [name, weight] : o.weights) {
      sum += weight;
      if (name.rfind("rouge", 0) == 0 &&
          std::find(metrics.begin(), metrics.end(), name) == metrics.end()) {
        problems.push_back("weights names '" + name + "', which is not in metrics");
      }
    }
    if (sum <= 0) problems.push_back("weights must have a positive sum");
    return problems;
  };
  c.fields = ScoreIo;
  c.make = text::ConstructWithEncoding<Score, O>();
  return c.Finish();
}

}  // namespace refinery::nodes
