// summarize_bench: time to summarize long documents, per method, on one thread: the issue's
// "50,000 sentences in well under a second". The document is the first N sentences (ICU) of a
// text file, e.g. shared/data/text/linux-doc.txt; prints the stage split of the default method.
//
//   summarize_bench FILE [--sentences 50000] [--ratio 0.1] [--repeat 3] [--threads N]
//
// One document's stages run in parallel where independent (oneTBB); --threads 1 measures one core.
#include <oneapi/tbb/global_control.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "nodes/summarize/document_model.h"
#include "nodes/summarize/near_duplicates.h"
#include "nodes/summarize/similarity_graph.h"
#include "nodes/summarize/summarizer.h"

using namespace refinery;
using Clock = std::chrono::steady_clock;

namespace {

double Millis(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

template <typename F>
double BestMillis(int repeat, F&& f) {
  double best = 1e300;
  for (int i = 0; i < repeat; ++i) {
    const auto t0 = Clock::now();
    f();
    best = std::min(best, Millis(t0));
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: summarize_bench FILE [--sentences N] [--ratio R] [--repeat K]\n");
    return 2;
  }
  size_t want = 50'000;
  double ratio = 0.1;
  int repeat = 3;
  int threads = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--sentences"))
      want = std::stoul(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--ratio"))
      ratio = std::stod(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--repeat"))
      repeat = std::stoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads"))
      threads = std::stoi(argv[i + 1]);
  }
  std::unique_ptr<tbb::global_control> limit;
  if (threads > 0)
    limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                  threads);
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  const auto sentences = text::SplitSentences(text);
  if (sentences.size() > want) text.resize(sentences[want - 1].end);
  auto encoding = text::TiktokenEncoding::Get("cl100k_base");
  if (!encoding.ok()) {
    std::fprintf(stderr, "%s\n", encoding.status().message().c_str());
    return 1;
  }
  std::printf("document: %zu sentences, %.2f MB, %zu tokens (cl100k_base)\n",
              std::min(want, sentences.size()), text.size() / 1e6,
              (*encoding)->CountOrdinary(text));
  std::printf("%-10s %10s %10s %12s\n", "method", "ms (best)", "sentences", "tokens out");
  for (auto method : {summarize::Method::kLead, summarize::Method::kTextRank,
                      summarize::Method::kLexRank, summarize::Method::kCentroid}) {
    summarize::SummarizerOptions o;
    o.method = method;
    o.ratio = ratio;
    summarize::Summary s;
    const double ms = BestMillis(repeat, [&] { s = summarize::Summarize(text, o, **encoding); });
    std::printf("%-10s %10.1f %10zu %12zu\n", summarize::MethodName(method), ms, s.sentences_after,
                s.tokens_after);
  }
  // Where the default method's time goes.
  summarize::SummarizerOptions o;
  summarize::DocumentModel doc;
  const double split = BestMillis(repeat, [&] { (void)text::SplitSentences(text, o.line_breaks); });
  const double model = BestMillis(
      repeat, [&] { doc = summarize::DocumentModel::Build(text, o.line_breaks, o.idf, o.stem); });
  const double dedupe = BestMillis(
      repeat, [&] { (void)summarize::FindNearDuplicates(doc.words, o.dedupe_threshold); });
  summarize::SimilarityGraph graph;
  const double build = BestMillis(repeat, [&] {
    graph = summarize::SimilarityGraph::Build(doc, o.chunk_sentences, 1e-6f, o.max_neighbours);
  });
  const std::vector<double> prior(doc.size(), 1.0);
  const double rank = BestMillis(repeat, [&] { (void)summarize::PageRank(graph, prior, {}); });
  const double count = BestMillis(repeat, [&] {
    for (const auto& s : doc.sentences)
      (void)(*encoding)->CountOrdinary(std::string_view(text).substr(s.begin, s.end - s.begin));
  });
  std::printf(
      "textrank stages (ms): split %.1f (within model), model %.1f, near-duplicates %.1f, "
      "graph %.1f, pagerank %.1f, token counts %.1f\n",
      split, model, dedupe, build, rank, count);
  return 0;
}
