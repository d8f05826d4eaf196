// Node types that exist only in tests, registered through the same public API a service uses.
//   upper  - upper-cases `field` (cacheable; counts its real executions)
//   fail   - throws for items whose `field` contains `needle`
//   spin   - busy-waits `micros`
//   gather - accepts batches: logs each batch's item ids, writes <id>.batch = its size, fails
//            items whose text contains FAIL (alone); with hold: true it waits for GatherOpen()
//   level  - writes <id>.value = f(level) for a `shape` (up: level; peak: 10 - (level - 2)^2;
//            flat: min(level, 2)) and <id>.text = "level L": a loop's adjustable score
#include "tests/support/test_nodes.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>

#include "graph/registry.h"

namespace refinery::testing {

std::atomic<int64_t> g_upper_calls{0};

namespace {

struct FieldOptions {
  std::string field;
};

class Upper : public Node {
 public:
  explicit Upper(const FieldOptions& o) : field_(o.field) {}
  void Process(Item& item) const override {
    g_upper_calls.fetch_add(1);
    std::string s = *item.text(field_);
    for (char& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    item.set_text(field_, std::move(s));
  }

 private:
  std::string field_;
};

struct FailOptions {
  std::string field;
  std::string needle;
};

class Fail : public Node {
 public:
  explicit Fail(const FailOptions& o) : field_(o.field), needle_(o.needle) {}
  void Process(Item& item) const override {
    if (item.text(field_)->find(needle_) != std::string::npos) {
      throw std::runtime_error("found '" + needle_ + "' in " + item.id());
    }
  }

 private:
  std::string field_, needle_;
};

struct SpinOptions {
  int64_t micros;
};

class Spin : public Node {
 public:
  explicit Spin(const SpinOptions& o) : micros_(o.micros) {}
  void Process(Item&) const override {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(micros_);
    while (std::chrono::steady_clock::now() < until) {
    }
  }

 private:
  int64_t micros_;
};

struct LevelOptions {
  double level;
  std::string shape;
};

class Level : public Node {
 public:
  Level(const NodeConfig& c, const LevelOptions& o) : id_(c.id), level_(o.level), shape_(o.shape) {}
  void Process(Item& item) const override {
    const double v = shape_ == "peak"   ? 10 - (level_ - 2) * (level_ - 2)
                     : shape_ == "flat" ? std::min(level_, 2.0)
                                        : level_;
    item.set_number(id_ + ".value", v);
    item.set_number(id_ + ".tokens", 10);
    item.set_text(id_ + ".text", "level " + std::to_string(int(level_)));
  }

 private:
  std::string id_;
  double level_;
  std::string shape_;
};

// Keeps the first half of the words of `text` and reports words before and after as its token
// counts (FieldIo::tokens_in/out): token accounting without a tokenizer's rank files.
class Halve : public Node {
 public:
  explicit Halve(const NodeConfig& c) : id_(c.id) {}
  void Process(Item& item) const override {
    std::istringstream in(*item.text("text"));
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    std::string out;
    for (size_t i = 0; i < words.size() / 2; ++i) out += (i ? " " : "") + words[i];
    item.set_number(id_ + ".before", double(words.size()));
    item.set_number(id_ + ".after", double(words.size() / 2));
    item.set_text("text", std::move(out));
  }

 private:
  std::string id_;
};

std::mutex g_gather_mu;
std::condition_variable g_gather_cv;
bool g_gather_open = false;
int g_gather_held = 0;
std::vector<std::vector<std::string>> g_gather_log;

struct GatherOptions {
  bool hold;
  int64_t micros;
};

class Gather : public Node {
 public:
  Gather(const NodeConfig& c, const GatherOptions& o)
      : id_(c.id), hold_(o.hold), micros_(o.micros) {}
  void Process(Item& item) const override {
    std::vector<std::string> errors(1);
    std::vector<Item*> one{&item};
    ProcessBatch(one, errors);
    if (!errors[0].empty()) throw std::runtime_error(errors[0]);
  }
  void ProcessBatch(const std::vector<Item*>& items,
                    std::vector<std::string>& errors) const override {
    {
      std::unique_lock lock(g_gather_mu);
      if (hold_) {
        ++g_gather_held;
        // Bounded, so a broken test cannot hang the suite.
        g_gather_cv.wait_for(lock, std::chrono::seconds(20), [] { return g_gather_open; });
        --g_gather_held;
      }
      std::vector<std::string> ids;
      for (Item* item : items) ids.push_back(item->id());
      g_gather_log.push_back(std::move(ids));
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(micros_);
    while (std::chrono::steady_clock::now() < until) {
    }
    for (size_t i = 0; i < items.size(); ++i) {
      items[i]->set_number(id_ + ".batch", double(items.size()));
      const std::string* text = items[i]->text("text");
      if (text && text->find("FAIL") != std::string::npos)
        errors[i] = "gather: FAIL in " + items[i]->id();
    }
  }

 private:
  std::string id_;
  bool hold_;
  int64_t micros_;
};

}  // namespace

std::vector<std::vector<std::string>> GatherBatches() {
  std::lock_guard lock(g_gather_mu);
  return g_gather_log;
}
void GatherReset() {
  std::lock_guard lock(g_gather_mu);
  g_gather_log.clear();
  g_gather_open = false;
}
void GatherOpen() {
  {
    std::lock_guard lock(g_gather_mu);
    g_gather_open = true;
  }
  g_gather_cv.notify_all();
}
int GatherHeld() {
  std::lock_guard lock(g_gather_mu);
  return g_gather_held;
}

REFINERY_REGISTER_NODE(test_gather) {
  BoundContract<GatherOptions> c;
  c.type = "gather";
  c.summary = "test: accepts batches and logs them";
  c.bind.Bool("hold", &GatherOptions::hold, false, "wait for GatherOpen()")
      .Int("micros", &GatherOptions::micros, 0, 0, 1'000'000, "time to spin per batch");
  c.cacheable = false;
  c.accepts_batches = true;
  c.fields = [](const NodeConfig& c, const GatherOptions&) {
    return FieldIo{{}, {"text"}, {c.id + ".batch"}};
  };
  c.make = Construct<Gather, GatherOptions>();
  return c.Finish();
}

REFINERY_REGISTER_NODE(test_level) {
  BoundContract<LevelOptions> c;
  c.type = "level";
  c.summary = "test: a score that follows an adjustable level";
  c.bind.Double("level", &LevelOptions::level, 0, -100, 100, "the level")
      .Enum("shape", &LevelOptions::shape, "up", {"up", "peak", "flat"}, "score shape");
  c.fields = [](const NodeConfig& c, const LevelOptions&) {
    return FieldIo{{}, {}, {c.id + ".value", c.id + ".tokens", c.id + ".text"}};
  };
  c.make = Construct<Level, LevelOptions>();
  return c.Finish();
}

REFINERY_REGISTER_NODE(test_upper) {
  BoundContract<FieldOptions> c;
  c.type = "upper";
  c.summary = "test: upper-cases a field";
  c.bind.String("field", &FieldOptions::field, "text", "field to upper-case");
  c.fields = [](const NodeConfig&, const FieldOptions& o) {
    return FieldIo{{o.field}, {}, {o.field}};
  };
  c.make = Construct<Upper, FieldOptions>();
  return c.Finish();
}

REFINERY_REGISTER_NODE(test_fail) {
  BoundContract<FailOptions> c;
  c.type = "fail";
  c.summary = "test: fails items containing a needle";
  c.bind.String("field", &FailOptions::field, "text", "field to search")
      .String("needle", &FailOptions::needle, "FAIL", "what fails");
  c.cacheable = false;
  c.fields = [](const NodeConfig&, const FailOptions& o) { return FieldIo{{o.field}, {}, {}}; };
  c.make = Construct<Fail, FailOptions>();
  return c.Finish();
}

REFINERY_REGISTER_NODE(test_halve) {
  NodeContract c;
  c.type = "halve";
  c.summary = "test: keeps the first half of the words, counting words as tokens";
  c.cacheable = false;
  c.io = [](const NodeConfig& c) {
    FieldIo io{{"text"}, {}, {"text", c.id + ".before", c.id + ".after"}};
    io.tokens_in = c.id + ".before";
    io.tokens_out = c.id + ".after";
    io.saves_tokens = true;
    return io;
  };
  c.factory = MakeFactory<Halve>();
  return c;
}

REFINERY_REGISTER_NODE(test_spin) {
  BoundContract<SpinOptions> c;
  c.type = "spin";
  c.summary = "test: busy-waits";
  c.bind.Int("micros", &SpinOptions::micros, 0, 0, 1'000'000, "time to spin");
  c.cacheable = false;
  c.default_concurrency = Concurrency::Unlimited();
  c.fields = [](const NodeConfig&, const SpinOptions&) { return FieldIo{}; };
  c.make = Construct<Spin, SpinOptions>();
  return c.Finish();
}

}  // namespace refinery::testing
