// core/json_parse: the nesting cap every user JSON file goes through, and error texts without
// library tags (issue 13).
#include "core/json_parse.h"

#include <gtest/gtest.h>

#include <string>

namespace kvpress {
namespace {

TEST(JsonNestingDepth, CountsContainersOutsideStrings) {
  EXPECT_EQ(JsonNestingDepth("1"), 0);
  EXPECT_EQ(JsonNestingDepth(R"({"a": [1, {"b": []}]})"), 4);
  EXPECT_EQ(JsonNestingDepth(R"(["[[[[", "\"[[[", "\\"])"), 1);
  EXPECT_EQ(JsonNestingDepth(std::string(100000, '[') + std::string(100000, ']')), kMaxJsonDepth + 1);
}

TEST(ParseJson, RefusesDeepDocumentsAndNamesTheSource) {
  const std::string ok = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(ParseJson(ok, "f.json").ok());
  const std::string deep = "[" + ok + "]";
  const auto r = ParseJson(deep, "f.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(r.status().message(), "f.json: JSON nested deeper than 256 levels");
  const auto bad = ParseOrderedJson("{\"a\": }", "g.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "g.json: invalid JSON (syntax error at byte 7)");
}

TEST(JsonErrorText, DropsTheLibraryTag) {
  try {
    (void)nlohmann::json("text").at("key");
    FAIL();
  } catch (const nlohmann::json::exception& e) {
    EXPECT_EQ(JsonErrorText(e), "expected an object or array, found a string");
  }
  try {
    (void)nlohmann::json(5).get<std::string>();
    FAIL();
  } catch (const nlohmann::json::exception& e) {
    EXPECT_EQ(JsonErrorText(e), "expected a string, found a number");
  }
}

}  // namespace
}  // namespace kvpress
