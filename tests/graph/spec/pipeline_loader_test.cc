// Validation: every kind of problem, reported all at once, each as file:line:col naming the node.
#include "graph/spec/pipeline_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include "graph/engine.h"

namespace refinery {
namespace {

using ::testing::HasSubstr;

std::string Errors(const std::string& yaml, const Overrides& overrides = {}) {
  StatusOr<PipelineSpec> spec = LoadPipelineString(yaml, "p.yaml", overrides);
  EXPECT_FALSE(spec.ok()) << "expected errors for:\n" << yaml;
  return spec.ok() ? "" : spec.status().message();
}

PipelineSpec Valid(const std::string& yaml, const Overrides& overrides = {}) {
  StatusOr<PipelineSpec> spec = LoadPipelineString(yaml, "p.yaml", overrides);
  EXPECT_TRUE(spec.ok()) << spec.status().message();
  return spec.ok() ? std::move(spec).value() : PipelineSpec{};
}

TEST(PipelineLoader, ValidChainFillsDefaultsAndOrder) {
  PipelineSpec spec = Valid(R"(pipeline: demo
version: "2"
max_in_flight: 8
nodes:
  - {id: a, type: normalize}
  - {id: b, type: dedupe, unit: line, concurrency: serial, cache: {capacity: 5}}
edges: [a -> b]
)");
  ASSERT_EQ(spec.nodes.size(), 2u);
  EXPECT_EQ(spec.name, "demo");
  EXPECT_EQ(spec.version, "2");
  EXPECT_EQ(spec.max_in_flight, 8);
  EXPECT_EQ(spec.nodes[0].options.Int("max_blank_lines"), 1);  // declared default
  EXPECT_EQ(spec.nodes[1].options.String("unit"), "line");
  EXPECT_EQ(spec.nodes[1].concurrency.limit, 1);
  EXPECT_EQ(spec.nodes[1].cache.capacity, 5);
  EXPECT_EQ(spec.order, (std::vector<size_t>{0, 1}));
}

TEST(PipelineLoader, UnknownKeyHasLocationAndSuggestion) {
  std::string e = Errors(R"(pipeline: demo
nodes:
  - id: cut
    type: dedupe
    min_char: 3
)");
  EXPECT_THAT(e, HasSubstr("p.yaml:5:5: error: node 'cut' (dedupe): unknown key 'min_char'; did "
                           "you mean 'min_chars'?"));
}

TEST(PipelineLoader, WrongTypeAndOutOfRangeNameTheNodeAndAllowedValues) {
  std::string e = Errors(R"(pipeline: demo
nodes:
  - {id: n, type: normalize, max_blank_lines: lots, collapse_spaces: 3}
  - {id: d, type: dedupe, min_chars: -4, unit: word}
)");
  EXPECT_THAT(e, HasSubstr("p.yaml:3:47: error: node 'n' (normalize): option 'max_blank_lines' "
                           "must be an integer, found 'lots'; allowed: an integer from 0 to 1000"));
  EXPECT_THAT(e, HasSubstr("p.yaml:3:70: error: node 'n' (normalize): option 'collapse_spaces' "
                           "must be true or false"));
  EXPECT_THAT(e, HasSubstr("p.yaml:4:38: error: node 'd' (dedupe): option 'min_chars' is out of "
                           "range, found '-4'"));
  EXPECT_THAT(e, HasSubstr("p.yaml:4:48: error: node 'd' (dedupe): option 'unit' has unknown "
                           "value 'word' (allowed: line, paragraph)"));
  EXPECT_THAT(e, HasSubstr("4 errors"));
}

TEST(PipelineLoader, UnknownTypeListsRegisteredTypes) {
  std::string e = Errors("pipeline: demo\nnodes:\n  - {id: x, type: normalise}\n");
  EXPECT_THAT(e, HasSubstr("p.yaml:3:19: error: node 'x': unknown node type 'normalise'; did you "
                           "mean 'normalize'? (registered types: "));
  EXPECT_THAT(e, HasSubstr("dedupe"));
}

TEST(PipelineLoader, DuplicateIdsAndEdgesToMissingNodes) {
  std::string e = Errors(R"(pipeline: demo
nodes:
  - {id: a, type: normalize}
  - {id: a, type: dedupe}
  - {id: b, type: measure}
edges:
  - a -> bb
)");
  EXPECT_THAT(e, HasSubstr("p.yaml:4:10: error: node 'a': duplicate id; first defined at line 3"));
  // Edge errors come only once nodes are valid; fix the duplicate and the edge shows.
  std::string e2 = Errors(R"(pipeline: demo
nodes:
  - {id: a, type: normalize}
  - {id: b, type: measure}
edges:
  - a -> bb
)");
  EXPECT_THAT(e2, HasSubstr("p.yaml:6:10: error: edge a -> bb: no node with id 'bb'; did you mean "
                            "'b'? (nodes: a, b)"));
}

TEST(PipelineLoader, CyclesThatAreNotLoopsAreErrors) {
  std::string e = Errors(R"(pipeline: demo
nodes:
  - {id: a, type: normalize}
  - {id: b, type: dedupe}
  - {id: c, type: measure}
edges: [a -> b -> c -> b]
)");
  EXPECT_THAT(e, HasSubstr("cycle b -> c -> b is not a declared loop"));
  EXPECT_THAT(Errors("pipeline: d\nnodes:\n  - {id: a, type: normalize}\nedges: [a -> a]\n"),
              HasSubstr("edge to itself is a cycle"));
}

TEST(PipelineLoader, UnreachableNode) {
  std::string e = Errors(R"(pipeline: demo
nodes:
  - {id: a, type: normalize}
  - {id: b, type: dedupe}
  - {id: lonely, type: measure}
edges: [a -> b]
)");
  EXPECT_THAT(e, HasSubstr("p.yaml:5:5: error: node 'lonely' (measure): unreachable"));
}

TEST(PipelineLoader, EmptyPipelines) {
  EXPECT_THAT(Errors(""), HasSubstr("empty pipeline"));
  EXPECT_THAT(Errors("pipeline: x\nnodes: []\n"), HasSubstr("empty pipeline"));
  EXPECT_THAT(Errors("pipeline: x\n"), HasSubstr("missing 'nodes:'"));
  EXPECT_THAT(Errors("- just\n- a list\n"), HasSubstr("a pipeline file is a mapping"));
}

TEST(PipelineLoader, YamlSyntaxErrorIsLocated) {
  EXPECT_THAT(Errors("pipeline: x\nnodes:\n  - {id: a, type: normalize\n"),
              HasSubstr("p.yaml:4:1: error: YAML syntax error"));
}

TEST(PipelineLoader, ReportsAllProblemsAtOnce) {
  std::string e = Errors(R"(pipline: x
max_in_flight: 0
nodes:
  - {id: a, type: nope}
  - {id: b, type: dedupe, bogus: 1}
  - {type: measure}
)");
  EXPECT_THAT(e, HasSubstr("p.yaml:1:1: error: unknown top-level key 'pipline'; did you mean "
                           "'pipeline'?"));
  EXPECT_THAT(e, HasSubstr("missing 'pipeline:'"));
  EXPECT_THAT(e, HasSubstr("p.yaml:2:16: error: 'max_in_flight' must be an integer from 1"));
  EXPECT_THAT(e, HasSubstr("unknown node type 'nope'"));
  EXPECT_THAT(e, HasSubstr("unknown key 'bogus'"));
  EXPECT_THAT(e, HasSubstr("p.yaml:6:5: error: node without an 'id'"));
}

TEST(PipelineLoader, DefaultsApplyToNodesThatHaveTheOption) {
  PipelineSpec spec = Valid(R"(pipeline: d
defaults: {field: body, concurrency: 3, cache: false}
nodes:
  - {id: a, type: normalize}
  - {id: b, type: dedupe, field: other}
  - {id: c, type: delay, micros: 0}
)");
  EXPECT_EQ(spec.nodes[0].options.String("field"), "body");
  EXPECT_EQ(spec.nodes[1].options.String("field"), "other");  // the node's own key wins
  EXPECT_EQ(spec.nodes[0].concurrency.limit, 3);
  EXPECT_FALSE(spec.nodes[0].cache.enabled);
  EXPECT_THAT(
      Errors("pipeline: d\ndefaults: {feild: x}\nnodes:\n  - {id: a, type: normalize}\n"),
      HasSubstr("p.yaml:2:12: error: defaults: unknown key 'feild'; did you mean 'field'?"));
}

TEST(PipelineLoader, OverridesAreValidatedLikeTheFile) {
  const std::string yaml = "pipeline: d\nnodes:\n  - {id: cut, type: dedupe}\n";
  Overrides ok = {ParseOverride("cut.min_chars=7").value(),
                  ParseOverride("max_in_flight=3").value()};
  PipelineSpec spec = Valid(yaml, ok);
  EXPECT_EQ(spec.nodes[0].options.Int("min_chars"), 7);
  EXPECT_EQ(spec.max_in_flight, 3);
  std::string e = Errors(
      yaml, {ParseOverride("cut.min_chars=abc").value(), ParseOverride("cat.min_chars=1").value(),
             ParseOverride("cut.min_char=1").value()});
  EXPECT_THAT(e, HasSubstr("--set cut.min_chars=abc: error: node 'cut' (dedupe): option "
                           "'min_chars' must be an integer"));
  EXPECT_THAT(e, HasSubstr("--set cat.min_chars=1: error: no node with id 'cat'; did you mean "
                           "'cut'?"));
  EXPECT_THAT(e, HasSubstr("unknown option 'min_char'; did you mean 'min_chars'?"));
  EXPECT_FALSE(ParseOverride("novalue").ok());
}

TEST(PipelineLoader, ExecutionOrderDoesNotDependOnDeclarationOrder) {
  PipelineSpec one = Valid(R"(pipeline: d
nodes:
  - {id: a, type: normalize}
  - {id: x, type: dedupe}
  - {id: y, type: measure}
  - {id: z, type: measure}
edges: [a -> x, a -> y, x -> z, y -> z]
)");
  PipelineSpec two = Valid(R"(pipeline: d
nodes:
  - {id: z, type: measure}
  - {id: y, type: measure}
  - {id: x, type: dedupe}
  - {id: a, type: normalize}
edges: [y -> z, x -> z, a -> y, a -> x]
)");
  auto ids = [](const PipelineSpec& s) {
    std::vector<std::string> out;
    for (size_t i : s.order) out.push_back(s.nodes[i].id);
    return out;
  };
  EXPECT_EQ(ids(one), (std::vector<std::string>{"a", "x", "y", "z"}));
  EXPECT_EQ(ids(one), ids(two));
}

TEST(PipelineLoader, NonCacheableTypeRejectsCacheSettings) {
  EXPECT_THAT(Errors("pipeline: d\nnodes:\n  - {id: a, type: delay, cache: {capacity: 3}}\n"),
              HasSubstr("node type 'delay' is not cacheable"));
}

TEST(PipelineLoader, RequiredOptionMissing) {
  EXPECT_THAT(Errors("pipeline: d\nnodes:\n  - {id: k, type: copy}\n"),
              HasSubstr("p.yaml:3:5: error: node 'k' (copy): missing required option 'to'"));
}

TEST(PipelineLoader, ConfigOverridesCacheSettings) {
  RuntimeConfig config;
  config.cache_defaults.capacity = 77;
  config.cache_nodes["b"].enabled = false;
  StatusOr<PipelineSpec> spec = LoadPipelineString(
      "pipeline: d\nnodes:\n  - {id: a, type: normalize}\n  - {id: b, type: dedupe}\n", "p.yaml",
      {}, config);
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->nodes[0].cache.capacity, 77);
  EXPECT_TRUE(spec->nodes[0].cache.enabled);
  EXPECT_FALSE(spec->nodes[1].cache.enabled);
}

// What a node writes is known from its options (NodeContract::io), so the fields loops and
// parallel groups name are checked by validation, all at once and each where it is written;
// before, `validate` said "ok" and `run` stopped at the first one after building every node.
TEST(PipelineLoader, FieldsNamedByLoopsAndGroupsAreCheckedBeforeAnyNodeIsBuilt) {
  const std::string e = Errors(R"(pipeline: demo
nodes:
  - {id: size, type: measure}
  - id: best
    parallel:
      keep_best: {a: ma.bytez, b: mb.bytes}
      branches:
        a: [{id: ma, type: measure}]
        b: [{id: mb, type: measure}]
loops:
  - {from: size, to: size, until: "size.nonexistent > 1", metric: size.nope, budget_field: size.wordz, budget: 9}
)");
  EXPECT_THAT(
      e,
      HasSubstr("p.yaml:4:5: error: parallel group 'best': branch 'a' writes no field 'ma.bytez' "
                "(keep_best); did you mean 'ma.bytes'?"));
  EXPECT_THAT(
      e,
      HasSubstr("p.yaml:11:35: error: loop condition names field 'size.nonexistent', which no node "
                "of the pipeline writes"));
  EXPECT_THAT(
      e, HasSubstr("p.yaml:11:67: error: loop metric names field 'size.nope', which no node of the "
                   "pipeline writes"));
  EXPECT_THAT(
      e,
      HasSubstr("p.yaml:11:92: error: loop budget_field names field 'size.wordz', which no node of "
                "the pipeline writes; did you mean 'size.words'?"));
  EXPECT_THAT(e, HasSubstr("4 errors"));
}

// Every error the compiler could raise from the pipeline file alone (its former checks: a
// group's keep_best field per branch; a loop's condition, metric and budget field) is raised by
// validation, with the same text as building the engine gives. Errors only building can find
// (a model or vocabulary file that will not open) are not in the file and are not here.
TEST(PipelineLoader, ValidationRaisesEveryErrorTheCompilerCould) {
  const std::string group = R"(pipeline: demo
nodes:
  - id: best
    parallel:
      keep_best: KEEP
      branches:
        a: [{id: ma, type: measure}]
        b: [{id: mb, type: measure, compare_to: text}]
)";
  const std::string loop = R"(pipeline: demo
nodes:
  - {id: size, type: measure}
loops:
  - {from: size, to: size, LOOP}
)";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {std::regex_replace(group, std::regex("KEEP"), "mb.ratio"),
       "branch 'a' writes no field 'mb.ratio'"},
      {std::regex_replace(loop, std::regex("LOOP"), "until: \"size.x > 1\", on_exhausted: last"),
       "loop condition names field 'size.x'"},
      {std::regex_replace(loop, std::regex("LOOP"), "until: \"size.bytes > 1\", metric: size.y"),
       "loop metric names field 'size.y'"},
      {std::regex_replace(
           loop, std::regex("LOOP"),
           "until: \"size.bytes > 1\", metric: size.bytes, budget_field: size.z, budget: 5"),
       "loop budget_field names field 'size.z'"},
  };
  for (const auto& [yaml, message] : cases) {
    const std::string validated = Errors(yaml);
    EXPECT_THAT(validated, HasSubstr(message)) << yaml;
    auto engine = Engine::FromString(yaml, "p.yaml");
    ASSERT_FALSE(engine.ok()) << yaml;
    EXPECT_EQ(engine.status().message(), validated);
  }
  // The same pipelines with the fields right pass validation and build.
  EXPECT_TRUE(
      Engine::FromString(
          std::regex_replace(group, std::regex("KEEP"), "{a: ma.bytes, b: mb.ratio}"), "p.yaml")
          .ok());
  EXPECT_TRUE(
      Engine::FromString(std::regex_replace(loop, std::regex("LOOP"),
                                            "until: \"size.bytes > 1\", metric: size.words"),
                         "p.yaml")
          .ok());
}

// yaml-cpp keeps a repeated key and lookups see the first, so a second value was silently
// ignored; every repeat is a located error, at any depth.
TEST(PipelineLoader, DuplicateKeysAreLocatedErrors) {
  const std::string e = Errors(R"(pipeline: demo
pipeline: other
nodes:
  - id: s
    type: dedupe
    min_chars: 3
    min_chars: 9
)");
  EXPECT_THAT(e, HasSubstr("p.yaml:2:1: error: duplicate key 'pipeline'; first given at line 1"));
  EXPECT_THAT(e, HasSubstr("p.yaml:7:5: error: duplicate key 'min_chars'; first given at line 6"));
  EXPECT_THAT(Errors("pipeline: demo\nnodes: [{id: a, type: normalize, field: text, field: x}]\n"),
              HasSubstr("p.yaml:2:47: error: duplicate key 'field'; first given at line 2"));
  // A key repeated in different mappings is no repeat.
  Valid("pipeline: demo\nnodes: [{id: a, type: normalize}, {id: b, type: normalize}]\n");
}

}  // namespace
}  // namespace refinery
