#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "edgecap/bench_quality.h"
#include "edgecap/error.h"

namespace edgecap {
namespace {

Words w(const char* s) { return tokenize_caption(s); }

TEST(Tokenize, LowercasesAndKeepsApostropheSuffix) {
  EXPECT_EQ(tokenize_caption("A Dog's toy, two CATS! x'"), (Words{"a", "dog's", "toy", "two", "cats", "x"}));
  EXPECT_TRUE(tokenize_caption(" ,.! ").empty());
}

// Expected values come from tools/evaluate.py corpus_bleu on the same inputs, so both sides agree.
TEST(CorpusBleu, MatchesPythonReferenceWithTwoReferences) {
  double b = corpus_bleu({w("the cat sat on the mat today")},
                         {{w("the cat is on the mat today"), w("a cat sat on a mat")}});
  EXPECT_NEAR(b, 0.6223329772884784, 1e-12);
}

TEST(CorpusBleu, MatchesPythonReferenceOverACorpus) {
  double b =
      corpus_bleu({w("a red dog on the grass"), w("two cats on the road")},
                  {{w("a red dog on the grass")}, {w("two black cats on a road"), w("cats on the road")}});
  EXPECT_NEAR(b, 0.8835836453663154, 1e-12);
}

TEST(CorpusBleu, BrevityPenaltyPunishesShortHypotheses) {
  EXPECT_NEAR(corpus_bleu({w("the cat")}, {{w("the cat is on the mat")}}, 2), 0.1353352832366127, 1e-12);
}

TEST(CorpusBleu, IdenticalIsOneAndDisjointIsZero) {
  EXPECT_DOUBLE_EQ(corpus_bleu({w("a dog on the grass")}, {{w("a dog on the grass")}}), 1.0);
  EXPECT_DOUBLE_EQ(corpus_bleu({w("two red cars")}, {{w("a dog on the grass")}}), 0.0);
  EXPECT_DOUBLE_EQ(corpus_bleu({Words{}}, {{w("a dog")}}), 0.0);
}

TEST(CorpusBleu, RejectsMismatchedInput) {
  EXPECT_THROW(corpus_bleu({w("a")}, {}), std::invalid_argument);
  EXPECT_THROW(corpus_bleu({w("a")}, {{}}), std::invalid_argument);
}

TEST(Pluralize, FollowsTheGeneratorGrammar) {
  EXPECT_EQ(pluralize("dog"), "dogs");
  EXPECT_EQ(pluralize("person"), "people");
  EXPECT_EQ(pluralize("bus"), "buses");
  EXPECT_EQ(pluralize("bench"), "benches");
  EXPECT_EQ(pluralize("sky"), "skies");
  EXPECT_EQ(pluralize("toy"), "toys");
  EXPECT_EQ(pluralize("sheep"), "sheep");
  EXPECT_EQ(pluralize("traffic light"), "traffic lights");
  EXPECT_EQ(pluralize("Fire Hydrant"), "fire hydrants");
}

TEST(Mentions, LongestFormWinsAndPluralsCount) {
  std::vector<std::string> cats = {"dog", "hot dog", "person", "car"};
  EXPECT_EQ(mentioned_categories(w("two people next to a hot dog"), cats),
            (std::vector<std::string>{"person", "hot dog"}));
  EXPECT_EQ(mentioned_categories(w("three dogs and cars"), cats), (std::vector<std::string>{"dog", "car"}));
  EXPECT_TRUE(mentioned_categories(w("a cat on the grass"), cats).empty());
}

TEST(Mentions, ColourCategoryUsedAsAdjectiveIsNotAMention) {
  std::vector<std::string> cats = {"orange", "car"};
  EXPECT_EQ(mentioned_categories(w("an orange car"), cats), (std::vector<std::string>{"car"}));
  EXPECT_EQ(mentioned_categories(w("an orange on a table"), cats), (std::vector<std::string>{"orange"}));
}

TEST(ObjectRecall, CountsEachGroundTruthObject) {
  GroundTruth gt{"a.png", {"a dog and a car"}, {"dog", "car", "car", "person"}};
  std::vector<std::string> cats = {"car", "dog", "person"};
  RecallCount c = object_recall(w("a dog next to two cars"), gt, cats);
  EXPECT_EQ(c.objects, 4);
  EXPECT_EQ(c.recalled, 3);
}

class GroundTruthFile : public ::testing::Test {
 protected:
  // One file per process and test: ctest runs each case as its own process, two at a time, and a name
  // shared between them (the random seed, 0 in every process) let one case read the other's file.
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = (std::filesystem::temp_directory_path() /
             ("edgecap_gt_" + std::to_string(::getpid()) + "_" + info->name() + ".jsonl"))
                .string();
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void write(const std::string& text) { std::ofstream(path_) << text; }
  std::string path_;
};

TEST_F(GroundTruthFile, KeysByFileNameAndReadsCategories) {
  write(
      "{\"image\": \"images/test/s1.png\", \"captions\": [\"a dog\", \"one dog\"], "
      "\"objects\": [{\"category\": \"dog\", \"count\": 1}]}\n\n"
      "{\"image\": \"s2.png\", \"captions\": [], \"objects\": []}\n");
  auto gt = read_ground_truth(path_);
  ASSERT_EQ(gt.size(), 2u);
  ASSERT_TRUE(gt.count("s1.png"));
  EXPECT_EQ(gt["s1.png"].captions.size(), 2u);
  EXPECT_EQ(gt["s1.png"].objects, (std::vector<std::string>{"dog"}));
  EXPECT_EQ(gt["s1.png"].image, "images/test/s1.png");
}

TEST_F(GroundTruthFile, BadLineIsNamed) {
  write("{\"image\": \"s1.png\", \"captions\": [], \"objects\": []}\n{\"captions\": []}\n");
  try {
    read_ground_truth(path_);
    FAIL() << "expected BenchError";
  } catch (const BenchError& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
}

TEST(GroundTruth, MissingFileThrows) { EXPECT_THROW(read_ground_truth("/nonexistent/gt.jsonl"), BenchError); }

}  // namespace
}  // namespace edgecap
