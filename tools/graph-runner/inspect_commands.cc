// graph-runner validate / describe / nodes: look at pipelines and node types without running.
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "graph/internal/did_you_mean.h"
#include "graph/monitor/views/html_report.h"
#include "graph/proto/refinery.pb.h"
#include "graph/registry.h"
#include "graph/spec/dot.h"
#include "tools/graph-runner/commands.h"

namespace refinery::cli {

bool LoadLoaderInputs(const std::vector<std::string>& sets, const std::string& config,
                      LoaderInputs* out) {
  bool ok = true;
  for (const std::string& s : sets) {
    StatusOr<Override> o = ParseOverride(s);
    if (!o.ok()) {
      std::cerr << o.status().message() << "\n";
      ok = false;
    } else {
      out->overrides.push_back(std::move(o).value());
    }
  }
  if (!config.empty()) {
    StatusOr<RuntimeConfig> c = LoadRuntimeConfig(config);
    if (!c.ok()) {
      std::cerr << c.status().message();
      ok = false;
    } else {
      out->config = std::move(c).value();
    }
  }
  return ok;
}

namespace {

void PrintError(const Status& s) {
  std::cerr << s.message();
  if (!s.message().empty() && s.message().back() != '\n') std::cerr << "\n";
}

std::string CacheText(const NodeSpec& n) {
  if (!n.contract->cacheable) return "not cacheable";
  if (!n.cache.enabled) return "off";
  std::string s = std::to_string(n.cache.capacity) + " entries, " +
                  std::to_string(n.cache.max_bytes >> 10) + " KiB";
  if (n.cache.ttl_seconds > 0) s += ", ttl " + OptionValueToString(n.cache.ttl_seconds) + "s";
  return s;
}

}  // namespace

int ValidateCommand(const std::vector<std::string>& pipelines, const std::vector<std::string>& sets,
                    const std::string& config) {
  LoaderInputs loader;
  if (!LoadLoaderInputs(sets, config, &loader)) return 2;
  int rc = 0;
  for (const std::string& path : pipelines) {
    StatusOr<PipelineSpec> spec = LoadPipelineFile(path, loader.overrides, loader.config);
    if (!spec.ok()) {
      PrintError(spec.status());
      rc = 2;
      continue;
    }
    std::printf("%s: ok: pipeline '%s', %zu nodes, %zu edges\n", path.c_str(), spec->name.c_str(),
                spec->nodes.size(), spec->edges.size());
  }
  return rc;
}

int DescribeCommand(const std::string& pipeline, const std::vector<std::string>& sets,
                    const std::string& config, bool dot) {
  LoaderInputs loader;
  if (!LoadLoaderInputs(sets, config, &loader)) return 2;
  StatusOr<PipelineSpec> spec = LoadPipelineFile(pipeline, loader.overrides, loader.config);
  if (!spec.ok()) {
    PrintError(spec.status());
    return 2;
  }
  if (dot) {
    std::fputs(PipelineToDot(*spec).c_str(), stdout);
    return 0;
  }
  std::printf("pipeline: %s\n", spec->name.c_str());
  if (!spec->version.empty()) std::printf("version: %s\n", spec->version.c_str());
  if (!spec->description.empty()) std::printf("description: %s\n", spec->description.c_str());
  std::printf("file: %s\nmax_in_flight: %lld\n", spec->file.c_str(),
              (long long)spec->max_in_flight);
  std::printf("execution order:");
  for (size_t i : spec->order) std::printf(" %s", spec->nodes[i].id.c_str());
  std::printf("\nnodes:\n");
  for (size_t i : spec->order) {
    const NodeSpec& n = spec->nodes[i];
    std::printf("  - id: %s\n    type: %s (version %s)\n    concurrency: %s\n    cache: %s\n",
                n.id.c_str(), n.type.c_str(), n.contract->version.c_str(),
                n.concurrency.ToString().c_str(), CacheText(n).c_str());
    if (n.queue.enabled) {
      const BatchSpec& b = n.queue.batch;
      std::printf("    queue: %s order, batches up to %d items%s, delay %g ms%s\n",
                  n.queue.order == QueueSpec::kPriority ? "priority" : "fifo", b.max_items,
                  b.max_tokens > 0
                      ? (" / " + std::to_string(b.max_tokens) + " of " + b.size_field).c_str()
                      : "",
                  b.max_delay_ms, b.adapt ? " (adapted)" : "");
    }
    if (n.parallel) {
      std::printf("    keeps the branch with the %s value of its keep_best field:\n",
                  n.parallel->lowest ? "lowest" : "highest");
      for (size_t b = 0; b < n.parallel->branches.size(); ++b) {
        std::printf("      %s (%s):", n.parallel->names[b].c_str(), n.parallel->metrics[b].c_str());
        for (size_t m : n.parallel->branches[b]) {
          std::printf(" %s (%s)", spec->nodes[m].id.c_str(), spec->nodes[m].type.c_str());
        }
        std::printf("\n");
      }
    }
    if (!n.options.all().empty()) std::printf("    options:\n");
    for (const auto& [name, value] : n.options.all()) {
      std::printf("      %s: %s\n", name.c_str(), OptionValueToString(value).c_str());
    }
  }
  std::printf("edges:\n");
  for (const EdgeSpec& e : spec->edges) std::printf("  - %s -> %s\n", e.from.c_str(), e.to.c_str());
  return 0;
}

int NodesCommand(const std::string& type) {
  NodeRegistry& registry = NodeRegistry::Global();
  std::vector<std::string> types = registry.Types();
  if (!type.empty()) {
    if (!registry.Find(type)) {
      std::fprintf(stderr, "error: unknown node type '%s'%s (registered types: %s)\n", type.c_str(),
                   internal::DidYouMean(type, types).c_str(), internal::JoinNames(types).c_str());
      return 2;
    }
    types = {type};
  }
  for (const std::string& t : types) {
    const NodeContract& c = *registry.Find(t);
    std::printf("%s (version %s): %s\n", c.type.c_str(), c.version.c_str(), c.summary.c_str());
    std::printf("  concurrency: %s (default)   cacheable: %s   accepts batches: %s\n",
                c.default_concurrency.ToString().c_str(), c.cacheable ? "yes" : "no",
                c.accepts_batches ? "yes" : "no");
    if (!c.reads.empty()) std::printf("  reads: %s\n", c.reads.c_str());
    if (!c.writes.empty()) std::printf("  writes: %s\n", c.writes.c_str());
    for (const OptionDef& d : c.options.defs()) {
      std::printf(
          "  %-18s %-15s default %-12s %s (%s)\n", d.name.c_str(), OptionTypeName(d.type),
          d.required ? "(required)" : ("'" + OptionValueToString(d.default_value) + "'").c_str(),
          d.doc.c_str(), d.AllowedText().c_str());
    }
    std::printf("\n");
  }
  return 0;
}

int ReportCommand(const std::string& json_report, const std::string& html_out) {
  proto::RunReport report;
  if (!LoadRunReport(json_report, &report)) return 2;
  std::ofstream out(html_out, std::ios::binary);
  out << monitor::RenderHtmlReport(report);
  if (!out) {
    std::cerr << html_out << ": error: cannot write the HTML report\n";
    return 2;
  }
  return 0;
}

}  // namespace refinery::cli
