// JSON Lines I/O: requests through protobuf's parser; results written by AppendResultJson must
// be exactly what protobuf's JSON mapping means (parsed back by protobuf, compared as messages).
#include "graph/io/json_io.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cmath>

namespace refinery {
namespace {

using ::testing::HasSubstr;

proto::Result ParseBack(const std::string& json) {
  proto::Result msg;
  auto status = google::protobuf::util::JsonStringToMessage(json, &msg);
  EXPECT_TRUE(status.ok()) << status.message() << "\n" << json;
  return msg;
}

void ExpectSameAsProtobuf(const Result& r) {
  std::string json = ResultToJson(r);
  proto::Result expected = ResultToProto(r);
  proto::Result actual = ParseBack(json);
  std::string diff;
  google::protobuf::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differ.Compare(expected, actual)) << diff << "\n" << json;
}

TEST(ResultJson, MatchesProtobufMappingForEveryKindOfField) {
  Result r;
  r.id = "id \"quoted\" \\ back";
  r.type = "email";
  r.fields["text"] = std::string("line\nnext\ttab \x01 ctrl \x7f del é 日本 🚀 <tag> &");
  r.fields["empty"] = std::string();
  r.fields["score.a"] = 0.1;
  r.fields["score.big"] = 1e300;
  r.fields["score.tiny"] = -5e-324;
  r.fields["score.int"] = 42.0;
  r.fields["ids"] = TokenIds{0, 1, -7, 2147483647};
  r.fields["no.ids"] = TokenIds{};
  r.iterations = 3;
  r.latency_ms = 1.25;
  r.trace = {{"a", 0.0, false}, {"b", 12.375, true}};
  ExpectSameAsProtobuf(r);
  r.ok = false;
  r.error_node = "b";
  r.error_message = "broke: \"x\"";
  ExpectSameAsProtobuf(r);
}

TEST(ResultJson, NonFiniteNumbersAndInvalidUtf8StayValidJson) {
  Result r;
  r.id = "x";
  r.fields["nan"] = std::nan("");
  r.fields["inf"] = INFINITY;
  r.fields["bad"] = std::string("a\xC3(b\xFF");
  std::string json = ResultToJson(r);
  proto::Result back = ParseBack(json);
  EXPECT_TRUE(std::isnan(back.scores().at("nan")));
  EXPECT_TRUE(std::isinf(back.scores().at("inf")));
  EXPECT_EQ(back.fields().at("bad"), "a\xEF\xBF\xBD(b\xEF\xBF\xBD");
}

TEST(RequestJson, ParsesFieldsAndDefaultsTheId) {
  auto r = RequestFromJson(
      R"({"type":"t","priority":2,"text":"","reference":"r","fields":{"q":"why"}})", 7);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->id, "7");
  EXPECT_EQ(r->priority, 2);
  EXPECT_EQ(std::get<std::string>(r->fields.at("text")), "");  // present though empty
  EXPECT_EQ(std::get<std::string>(r->fields.at("reference")), "r");
  EXPECT_EQ(std::get<std::string>(r->fields.at("q")), "why");
  EXPECT_EQ(RequestFromJson(R"({"id":"a"})", 1)->fields.count("text"), 0u);
}

TEST(RequestJson, BadLinesAreErrors) {
  EXPECT_FALSE(RequestFromJson("not json", 1).ok());
  EXPECT_THAT(RequestFromJson(R"({"id":"a","txt":"x"})", 1).status().message(), HasSubstr("txt"));
  EXPECT_FALSE(RequestFromJson(R"({"priority":"high"})", 1).ok());
  EXPECT_FALSE(RequestFromJson("[1,2]", 1).ok());
}

}  // namespace
}  // namespace refinery
