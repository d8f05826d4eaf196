// Exactness of the tiktoken-compatible encoder against golden ids written by js-tiktoken
// (tools/tokenizer/golden/generate.mjs), plus specials, invalid UTF-8, decode and long inputs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "graph/io/utf8.h"
#include "nodes/text/piece_batch.h"
#include "nodes/text/tiktoken_encoding.h"
#include "tests/support/scratch_path.h"
#include "tests/support/set_up_material.h"

namespace refinery::text {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<const TiktokenEncoding> Load(const std::string& name) {
  auto enc = TiktokenEncoding::Get(name);
  return enc.ok() ? *enc : nullptr;
}

#define REQUIRE_ENCODING(var, name)                                                    \
  auto var = Load(name);                                                               \
  ASSERT_TRUE(var) << name << " rank file not available (tools/setup.sh fetches it): " \
                   << TiktokenEncoding::Get(name).status().message()

std::string FromBase64(const std::string& in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '+'             ? 62
            : c == '/'             ? 63
                                   : -1;
    if (v < 0) break;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(char((acc >> bits) & 0xFF));
    }
  }
  return out;
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, EveryIdMatchesJsTiktoken) {
  REQUIRE_ENCODING(enc, GetParam());
  std::ifstream in(std::string(PROJECT_DIR) + "/tests/data/tokenizer/" + GetParam() + ".golden");
  ASSERT_TRUE(in) << "golden file missing";
  int cases = 0;
  for (std::string line; std::getline(in, line);) {
    size_t tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos);
    const std::string text = FromBase64(line.substr(0, tab));
    std::vector<uint32_t> expected;
    std::istringstream ids(line.substr(tab + 1));
    for (uint32_t id; ids >> id;) expected.push_back(id);
    std::vector<uint32_t> got;
    enc->EncodeOrdinary(text, &got);
    ASSERT_EQ(got, expected) << "case " << cases << ": " << text.substr(0, 120);
    EXPECT_EQ(enc->CountOrdinary(text), expected.size());
    EXPECT_EQ(enc->Decode(got), text);
    ++cases;
  }
  EXPECT_GE(cases, 50);
}

INSTANTIATE_TEST_SUITE_P(Encodings, Golden,
                         ::testing::Values("r50k_base", "p50k_base", "cl100k_base", "o200k_base"));

TEST(Tiktoken, KnownIds) {
  REQUIRE_ENCODING(enc, "cl100k_base");
  EXPECT_EQ(enc->Encode("hello world", {}).value(), (std::vector<uint32_t>{15339, 1917}));
}

TEST(Tiktoken, SpecialTokensFollowTiktokensRules) {
  REQUIRE_ENCODING(enc, "cl100k_base");
  const std::string text = "a<|endoftext|>b<|fim_prefix|>";
  auto refused = enc->Encode(text, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("<|endoftext|> at byte 1"));
  auto all = enc->Encode(text, {SpecialPolicy::kAllowAll});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->at(1), 100257u);
  EXPECT_EQ(all->back(), 100258u);
  auto listed = enc->Encode(text, {SpecialPolicy::kAllowList, {"<|endoftext|>"}});
  EXPECT_FALSE(listed.ok());  // <|fim_prefix|> is not in the list
  auto ordinary = enc->Encode(text, {SpecialPolicy::kOrdinary});
  ASSERT_TRUE(ordinary.ok());
  EXPECT_EQ(std::count(ordinary->begin(), ordinary->end(), 100257u), 0);
  EXPECT_EQ(enc->Decode(*ordinary), text);
  EXPECT_EQ(enc->Count(text, {SpecialPolicy::kAllowAll}).value(), all->size());
}

TEST(Tiktoken, DecodeTextReplacesCutCharacters) {
  REQUIRE_ENCODING(enc, "cl100k_base");
  std::vector<uint32_t> ids;
  enc->EncodeOrdinary("🚀", &ids);
  ASSERT_GT(ids.size(), 1u);  // the rocket is several byte-level tokens
  ids.pop_back();
  EXPECT_EQ(enc->DecodeText(ids), "\xEF\xBF\xBD");
  EXPECT_NE(enc->Decode(ids), enc->DecodeText(ids));
}

TEST(Tiktoken, InvalidUtf8IsEncodedAsReplacementCharacters) {
  REQUIRE_ENCODING(enc, "cl100k_base");
  std::vector<uint32_t> bad, replaced;
  enc->EncodeOrdinary(
      "ab\xFF"
      "cd\xE2\x82",
      &bad);
  enc->EncodeOrdinary(
      "ab\xEF\xBF\xBD"
      "cd\xEF\xBF\xBD",
      &replaced);
  EXPECT_EQ(bad, replaced);
}

TEST(Tiktoken, LongRunsAndWordsEncodeAndRoundTrip) {
  REQUIRE_ENCODING(enc, "cl100k_base");
  // One piece of 1 MB each: the heap merge keeps these near-linear (a quadratic merge would not
  // finish inside the test timeout).
  const std::string run(1 << 20, 'a');
  std::mt19937 rng(3);
  std::string word;
  for (int i = 0; i < (1 << 20); ++i) word.push_back(char('a' + rng() % 26));
  for (const std::string* s : std::initializer_list<const std::string*>{&run, &word}) {
    std::vector<uint32_t> ids;
    enc->EncodeOrdinary(*s, &ids);
    EXPECT_EQ(enc->Decode(ids), *s);
    EXPECT_EQ(enc->CountOrdinary(*s), ids.size());
    EXPECT_LT(ids.size(), s->size());
  }
}

TEST(Tiktoken, MissingOrCorruptRankFileIsAClearError) {
  auto missing = TiktokenEncoding::Get("cl100k_base", "/nonexistent-dir");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent-dir/cl100k_base.tiktoken"));
  EXPECT_THAT(missing.status().message(), HasSubstr("223921b76ee99bde"));
  const std::string dir = refinery::testing::ScratchPath("corrupt-vocab");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/r50k_base.tiktoken") << "IQ== 0\n";
  auto corrupt = TiktokenEncoding::Get("r50k_base", dir);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_THAT(corrupt.status().message(), HasSubstr("is corrupt"));
  EXPECT_FALSE(TiktokenEncoding::Get("p99k_base").ok());
}

// tiktoken's merge written as plainly as possible: repeatedly merge the adjacent pair with the
// lowest rank (leftmost on ties), looking every rank up afresh.
std::vector<uint32_t> PlainBpe(const BpeVocabulary& vocab, std::string_view piece) {
  if (auto whole = vocab.Rank(piece)) return {*whole};
  std::vector<std::string_view> parts;
  for (size_t i = 0; i < piece.size(); ++i) parts.push_back(piece.substr(i, 1));
  for (;;) {
    std::optional<uint32_t> best;
    size_t at = 0;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      const size_t start = size_t(parts[i].data() - piece.data());
      std::optional<uint32_t> r =
          vocab.Rank(piece.substr(start, parts[i].size() + parts[i + 1].size()));
      if (r && (!best || *r < *best)) {
        best = r;
        at = i;
      }
    }
    if (!best) break;
    parts[at] = std::string_view(parts[at].data(), parts[at].size() + parts[at + 1].size());
    parts.erase(parts.begin() + long(at) + 1);
  }
  std::vector<uint32_t> ids;
  for (std::string_view p : parts) ids.push_back(*vocab.Rank(p));
  return ids;
}

// The fast merge (batches of pieces whose merges take turns, per-thread memo, direct byte and
// pair tables, the heap for long pieces) against the plain one, piece by piece, twice (the
// second time from the memo): the repository's own docs (always there, so a bare clone checks
// thousands of real pieces), the first 256 KiB of every shared text, and long random words.
TEST(Tiktoken, FastMergesMatchThePlainAlgorithm) {
  const std::string dir = refinery::testing::SharedPath("data/text");
  std::vector<std::filesystem::path> files = {std::filesystem::path(PROJECT_DIR) / "README.md"};
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(PROJECT_DIR) / "docs")) {
    files.push_back(entry.path());
  }
  if (std::filesystem::exists(dir)) {
    for (const auto& entry : std::filesystem::directory_iterator(dir))
      files.push_back(entry.path());
  }
  for (const char* name : {"cl100k_base", "o200k_base"}) {
    REQUIRE_ENCODING(enc, name);
    const BpeVocabulary& vocab = enc->vocabulary();
    auto split = std::move(Pretokenizer::Compile(enc->info().pattern)).value();
    std::vector<std::string> texts;
    std::mt19937 rng(3);
    for (size_t length : {30, 57, 129, 300}) {
      std::string word;
      for (size_t i = 0; i < length; ++i) word += "abcdefghijklmnopqrstuvwxyz"[rng() % 26];
      texts.push_back(word);
    }
    for (const auto& file : files) {
      std::ifstream in(file, std::ios::binary);
      ASSERT_TRUE(in) << file;
      std::string text(256 << 10, '\0');
      in.read(text.data(), std::streamsize(text.size()));
      text.resize(size_t(in.gcount()));
      texts.push_back(utf8::ToValidUtf8(text));
    }
    size_t pieces = 0, total = 0;
    for (int round = 0; round < 2; ++round) {
      for (const std::string& text : texts) {
        // Piece by piece through a batch (merges of many pieces interleave there), and the
        // whole text through the encoding: both must be the plain merge of every piece.
        std::vector<std::string_view> added;
        std::vector<uint32_t> plain;
        PieceBatch batch(vocab);
        auto check = [&](std::span<const uint32_t> tokens) {
          ASSERT_LT(pieces, added.size());
          std::vector<uint32_t> expected = PlainBpe(vocab, added[pieces]);
          ASSERT_EQ(std::vector<uint32_t>(tokens.begin(), tokens.end()), expected)
              << name << ": '" << added[pieces] << "'";
          plain.insert(plain.end(), expected.begin(), expected.end());
          ++pieces;
        };
        pieces = 0;
        split->Split(text, [&](std::string_view piece) {
          added.push_back(piece);
          if (batch.Add(piece)) batch.Flush(check);
        });
        batch.Flush(check);
        ASSERT_EQ(pieces, added.size());
        total += pieces;
        std::vector<uint32_t> encoded;
        enc->EncodeOrdinary(text, &encoded);
        ASSERT_EQ(encoded, plain) << name;
        ASSERT_EQ(enc->CountOrdinary(text), plain.size()) << name;
      }
    }
    // Random words alone are 8 pieces over two rounds; the docs alone give tens of thousands.
    EXPECT_GT(total, 10000u) << name;
  }
}

TEST(Tiktoken, GeneratedVocabulariesDoNotAnswerForEachOther) {
  // Merged pieces are memoised per thread; two vocabularies that merge "abab" differently must
  // each get their own tokens, whatever order they run in.
  EncodingInfo info{"test", "", "", R"(\S+|\s+)", {}};
  auto with_ab =
      TiktokenEncoding::FromParts(info, *BpeVocabulary::Parse("YQ== 0\nYg== 1\nYWI= 2\n", "ab"));
  auto without =
      TiktokenEncoding::FromParts(info, *BpeVocabulary::Parse("YQ== 0\nYg== 1\n", "no-ab"));
  ASSERT_TRUE(with_ab.ok() && without.ok());
  for (int round = 0; round < 2; ++round) {
    std::vector<uint32_t> a, b;
    (*with_ab)->EncodeOrdinary("abab", &a);
    (*without)->EncodeOrdinary("abab", &b);
    EXPECT_EQ(a, (std::vector<uint32_t>{2, 2}));
    EXPECT_EQ(b, (std::vector<uint32_t>{0, 1, 0, 1}));
    EXPECT_EQ((*without)->CountOrdinary("abab"), 4u);
    // A piece over 56 bytes goes to the memo for oversize pieces: the same rule there.
    std::vector<uint32_t> long_a, long_b;
    (*with_ab)->EncodeOrdinary(std::string(40, 'a') + std::string(40, 'b'), &long_a);
    (*without)->EncodeOrdinary(std::string(40, 'a') + std::string(40, 'b'), &long_b);
    EXPECT_EQ(long_a.size(), 79u);  // 39 a's, one "ab", 39 b's
    EXPECT_EQ(long_b.size(), 80u);
  }
}

TEST(Tiktoken, RankFileLimitsAreLocatedErrors) {
  // 344 base64 characters decode to 258 bytes: longer than a token may be.
  auto v = BpeVocabulary::Parse("YQ== 0\n" + std::string(344, 'A') + " 1\n", "long.tiktoken");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("long.tiktoken:2: token of 258 bytes"));
  EXPECT_FALSE(BpeVocabulary::Parse("YQ== 99999999\n", "big-rank").ok());
}

}  // namespace
}  // namespace refinery::text
