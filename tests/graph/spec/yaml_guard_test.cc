// Hostile and malformed pipeline files: a clear error, never a crash, hang or huge allocation.
#include "graph/internal/yaml_guard.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "graph/spec/pipeline_loader.h"

namespace refinery {
namespace {

using ::testing::HasSubstr;

std::string LoadError(const std::string& text) {
  StatusOr<PipelineSpec> spec = LoadPipelineString(text, "bad.yaml");
  EXPECT_FALSE(spec.ok());
  return spec.ok() ? "" : spec.status().message();
}

TEST(YamlGuard, BinaryGarbage) {
  std::string garbage = "pipeline: x\n";
  for (int i = 0; i < 256; ++i) garbage += static_cast<char>((i * 37) & 0xFF);
  EXPECT_THAT(LoadError(garbage), HasSubstr("bad.yaml:2:1: error: not a YAML text file"));
  EXPECT_THAT(LoadError(std::string("pipeline: a\0b\n", 14)), HasSubstr("byte 0x00"));
}

TEST(YamlGuard, DeepNestingIsRefusedBeforeParsing) {
  EXPECT_THAT(LoadError(std::string(100000, '[')), HasSubstr("YAML nesting is"));
  std::string dashes;
  for (int i = 0; i < 500; ++i) dashes += "- ";
  EXPECT_THAT(LoadError(dashes + "x\n"), HasSubstr("YAML nesting is"));
  std::string indented;
  for (int i = 0; i < 200; ++i) indented += std::string(i, ' ') + "k" + std::to_string(i) + ":\n";
  EXPECT_THAT(LoadError(indented), HasSubstr("YAML nesting is"));
}

TEST(YamlGuard, AliasBombIsRefused) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  std::string prev = "a";
  for (int level = 0; level < 40; ++level) {
    std::string name = "l" + std::to_string(level);
    bomb += name + ": &" + name + " [";
    for (int k = 0; k < 10; ++k) bomb += (k ? ", *" : "*") + prev;
    bomb += "]\n";
    prev = name;
  }
  EXPECT_THAT(LoadError(bomb), HasSubstr("YAML aliases; the limit is 256"));
}

TEST(YamlGuard, SmallAliasUseStillWorks) {
  StatusOr<PipelineSpec> spec = LoadPipelineString(
      "pipeline: x\nnodes:\n  - &n {id: a, type: normalize}\n  - {id: b, type: dedupe}\n",
      "ok.yaml");
  EXPECT_TRUE(spec.ok()) << spec.status().message();
}

TEST(YamlGuard, HugeDocumentAndScalar) {
  EXPECT_THAT(LoadError("pipeline: " + std::string(2 << 20, 'x') + "\n"),
              HasSubstr("the limit is"));
}

TEST(YamlGuard, DirectoryAndMissingFile) {
  auto dir = std::filesystem::temp_directory_path();
  StatusOr<PipelineSpec> d = LoadPipelineFile(dir.string());
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("is a directory, expected a file"));
  StatusOr<PipelineSpec> m = LoadPipelineFile("/nonexistent/pipeline.yaml");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(m.status().message(), HasSubstr("/nonexistent/pipeline.yaml: error: no such file"));
}

TEST(YamlGuard, MapAsKeyDoesNotCrash) {
  std::string e = LoadError("? {a: b}\n: c\nnodes: []\n");
  EXPECT_FALSE(e.empty());
}

TEST(YamlGuard, DepthEstimateCountsFlowAndBlocks) {
  EXPECT_EQ(internal::EstimateYamlDepth("a: 1\n"), 1);
  EXPECT_EQ(internal::EstimateYamlDepth("a:\n  b:\n    c: [1, [2]]\n"), 5);
  EXPECT_EQ(internal::EstimateYamlDepth("a: '[[[['\n"), 1);  // brackets in quotes do not count
}

}  // namespace
}  // namespace refinery
