// truncate: fits a text field into a token budget, counted exactly with the pipeline's
// tiktoken encoding. The budget is `max_tokens`, or a model's `context_window` minus
// `reserve_output`; `pinned` fields (a question, an instruction) are kept whole and their
// tokens come off the budget first, so the document absorbs the cut.
//
//   - {id: cut, type: truncate, max_tokens: 2048, strategy: middle}
//   - {id: fit, type: truncate, context_window: 8192, reserve_output: 1024,
//      strategy: sentences, pinned: [question]}
//
// Strategies: head (keep the start), tail (keep the end), middle (keep both ends, `marker`
// between), sentences (keep whole sentences from the start, split by the shared ICU splitter,
// nodes/text/sentence_splitter.h, as summarize splits them). Guarantee: re-tokenizing the output
// gives at most the budget (BPE is not additive at a cut, so every candidate is re-counted and
// shortened until it fits) and a UTF-8 character is never split. Writes the output and
// `<id>.tokens_before`, `<id>.tokens_after`, `<id>.tokens_dropped`, `<id>.tokens_pinned`.
#include <string>
#include <vector>

#include "graph/io/utf8.h"
#include "graph/registry.h"
#include "nodes/text/sentence_splitter.h"
#include "nodes/text/tiktoken_encoding.h"

namespace refinery::nodes {
namespace {

using Ids = std::vector<uint32_t>;

// Drops a UTF-8 sequence cut off at the end.
std::string TrimBrokenTail(std::string s) {
  size_t i = s.size();
  size_t back = 0;
  while (i > 0 && back < 4 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) {
    --i;
    ++back;
  }
  if (i > 0 && static_cast<unsigned char>(s[i - 1]) >= 0x80) {
    if (utf8::ValidSequenceLength(s, i - 1) == 0) s.resize(i - 1);
  }
  return s;
}

// Drops continuation bytes at the start (the rest of a character cut off at the front).
std::string TrimBrokenHead(std::string s) {
  size_t i = 0;
  while (i < s.size() && i < 3 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
  return s.substr(i);
}

struct TruncateOptions {
  std::string field;
  std::string output;
  int64_t max_tokens;
  int64_t context_window;
  int64_t reserve_output;
  std::string strategy;
  std::string marker;
  std::vector<std::string> pinned;
  text::EncodingOptions encoding;

  int64_t budget() const { return max_tokens > 0 ? max_tokens : context_window - reserve_output; }
};

class Truncate : public Node {
 public:
  Truncate(const NodeConfig& c, const TruncateOptions& o,
           std::shared_ptr<const text::TiktokenEncoding> encoding)
      : id_(c.id),
        encoding_(std::move(encoding)),
        field_(o.field),
        output_(o.output.empty() ? o.field : o.output),
        strategy_(o.strategy),
        marker_(o.marker),
        pinned_(o.pinned),
        budget_(o.budget()) {}

  void Process(Item& item) const override {
    size_t pinned = 0;
    for (const std::string& f : pinned_) pinned += Count(*item.text(f));
    if (int64_t(pinned) > budget_) {
      throw std::runtime_error("pinned fields take " + std::to_string(pinned) +
                               " tokens, more than the budget of " + std::to_string(budget_));
    }
    const size_t avail = size_t(budget_) - pinned;
    const std::string& text = *item.text(field_);
    Ids ids;
    encoding_->EncodeOrdinary(text, &ids);
    std::string out;
    if (ids.size() <= avail) {
      out = text;
    } else if (strategy_ == "tail") {
      out = FitSuffix(ids, avail);
    } else if (strategy_ == "middle") {
      out = FitMiddle(ids, avail);
    } else if (strategy_ == "sentences") {
      out = FitSentences(text, avail);
    } else {
      out = FitPrefix(ids, avail);
    }
    const size_t after = out.size() == text.size() ? ids.size() : Count(out);
    item.set_number(id_ + ".tokens_before", double(ids.size()));
    item.set_number(id_ + ".tokens_after", double(after));
    item.set_number(id_ + ".tokens_dropped", double(ids.size() - after));
    item.set_number(id_ + ".tokens_pinned", double(pinned));
    item.set_text(output_, std::move(out));
  }

 private:
  size_t Count(const std::string& s) const { return encoding_->CountOrdinary(s); }

  std::string Prefix(const Ids& ids, size_t k) const {
    return TrimBrokenTail(encoding_->Decode(std::span(ids).first(k)));
  }
  std::string Suffix(const Ids& ids, size_t k) const {
    return TrimBrokenHead(encoding_->Decode(std::span(ids).last(k)));
  }

  // Shrinks k until make(k) re-tokenizes within `limit` tokens.
  template <typename Make>
  std::string Fit(size_t k, size_t limit, Make&& make) const {
    while (true) {
      std::string s = make(k);
      const size_t n = Count(s);
      if (n <= limit || k == 0) return s;
      k -= std::min(k, std::max<size_t>(1, n - limit));
    }
  }

  std::string FitPrefix(const Ids& ids, size_t avail) const {
    return Fit(avail, avail, [&](size_t k) { return Prefix(ids, k); });
  }
  std::string FitSuffix(const Ids& ids, size_t avail) const {
    return Fit(avail, avail, [&](size_t k) { return Suffix(ids, k); });
  }

  std::string FitMiddle(const Ids& ids, size_t avail) const {
    const size_t marker_tokens = Count(marker_);
    if (avail <= marker_tokens + 1) return FitPrefix(ids, avail);
    const size_t room = avail - marker_tokens;
    return Fit(room, avail, [&](size_t k) {
      const size_t head = (k + 1) / 2, tail = k - head;
      return Prefix(ids, head) + marker_ + (tail ? Suffix(ids, tail) : std::string());
    });
  }

  // Sentence ends from the shared splitter (ICU, as summarize uses), plus the end of the text.
  static std::vector<size_t> SentenceEnds(const std::string& s) {
    std::vector<size_t> ends;
    for (const text::Sentence& sentence : text::SplitSentences(s)) ends.push_back(sentence.end);
    if (ends.empty() || ends.back() != s.size()) ends.push_back(s.size());
    return ends;
  }

  std::string FitSentences(const std::string& text, size_t avail) const {
    const std::vector<size_t> ends = SentenceEnds(text);
    // The longest run of whole sentences that fits: counts grow with the prefix, so search.
    size_t lo = 0, hi = ends.size();  // lo sentences fit; hi do not
    while (hi - lo > 1) {
      const size_t mid = (lo + hi) / 2;
      if (Count(text.substr(0, ends[mid - 1])) <= avail)
        lo = mid;
      else
        hi = mid;
    }
    std::string out = lo == 0 ? std::string() : text.substr(0, ends[lo - 1]);
    while (!out.empty() && (out.back() == ' ' || out.back() == '\n')) out.pop_back();
    return out;
  }

  std::string id_;
  std::shared_ptr<const text::TiktokenEncoding> encoding_;
  std::string field_;
  std::string output_;
  std::string strategy_;
  std::string marker_;
  std::vector<std::string> pinned_;
  int64_t budget_;
};

FieldIo TruncateIo(const NodeConfig& c, const TruncateOptions& o) {
  const std::string& id = c.id;
  FieldIo io{{o.field}, {}, {o.output.empty() ? o.field : o.output}};
  for (const std::string& f : o.pinned) io.reads.push_back(f);
  for (const char* k : {".tokens_before", ".tokens_after", ".tokens_dropped", ".tokens_pinned"}) {
    io.writes.push_back(id + k);
  }
  io.tokens_in = id + ".tokens_before";
  io.tokens_out = id + ".tokens_after";
  io.saves_tokens = true;
  return io;
}

}  // namespace

REFINERY_REGISTER_NODE(truncate) {
  BoundContract<TruncateOptions> c;
  c.type = "truncate";
  c.summary =
      "fits a text field into a token budget (head, tail, middle, sentences; pinned fields)";
  c.version = "2";  // 2: sentences split by the shared ICU splitter
  using O = TruncateOptions;
  c.bind.String("field", &O::field, "text", "text field to cut")
      .NonEmpty()
      .String("output", &O::output, "", "field to write (empty: overwrite `field`)")
      .Int("max_tokens", &O::max_tokens, 0, 0, 100'000'000, "token budget (or use context_window)")
      .Int("context_window", &O::context_window, 0, 0, 100'000'000,
           "model context size; budget = this - reserve_output")
      .Int("reserve_output", &O::reserve_output, 0, 0, 100'000'000,
           "tokens kept free for the model's answer")
      .Enum("strategy", &O::strategy, "head", {"head", "tail", "middle", "sentences"},
            "which part to keep")
      .String("marker", &O::marker, "\n[...]\n", "text put where `middle` cut")
      .StringList("pinned", &O::pinned, {}, {},
                  "fields kept whole; their tokens come off the budget first")
      .Group(&O::encoding, text::BindEncodingOptions);
  c.reads = "`field`, `pinned`";
  c.writes = "`output`, `<id>.tokens_before|after|dropped|pinned`";
  c.check_options = [](const O& o) {
    std::vector<std::string> problems;
    if ((o.max_tokens > 0) == (o.context_window > 0)) {
      problems.push_back("set exactly one of max_tokens, or context_window (with reserve_output)");
    } else if (o.context_window > 0 && o.reserve_output >= o.context_window) {
      problems.push_back("reserve_output (" + std::to_string(o.reserve_output) +
                         ") leaves no room in context_window (" + std::to_string(o.context_window) +
                         ")");
    }
    return problems;
  };
  c.fields = TruncateIo;
  c.make = text::ConstructWithEncoding<Truncate, O>();
  return c.Finish();
}

}  // namespace refinery::nodes
