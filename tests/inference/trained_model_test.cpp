// Label `model`: the trained models (tools/build_models.sh) on the committed sample scenes. Each test skips
// with the reason when a file is absent, so a fresh clone without trained models still passes.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "edgecap/captioner.h"
#include "edgecap/model_catalog.h"

namespace edgecap {
namespace {

namespace fs = std::filesystem;

struct Scene {
  std::string file;
  cv::Mat image;
  std::vector<std::string> categories;  // one per ground-truth object
};

std::string repo(const std::string& relative) { return std::string(EDGECAP_SOURCE_DIR) + "/" + relative; }

// The defaults are the committed layout; the variables point the test at other files (a model being
// trained, another scene set) without touching models/ or samples/.
std::string setting(const char* variable, const std::string& fallback) {
  const char* value = std::getenv(variable);
  return value && *value ? value : fallback;
}

// The same plural rule as tools/datagen/grammar.py pluralize(): the head (last word) inflects.
std::string pluralize(const std::string& noun) {
  const auto space = noun.rfind(' ');
  if (space != std::string::npos) return noun.substr(0, space + 1) + pluralize(noun.substr(space + 1));
  static const std::pair<const char*, const char*> kIrregular[] = {
      {"person", "people"},     {"man", "men"},      {"woman", "women"},       {"child", "children"},
      {"mouse", "mice"},        {"knife", "knives"}, {"leaf", "leaves"},       {"wife", "wives"},
      {"shelf", "shelves"},     {"sheep", "sheep"},  {"deer", "deer"},         {"fish", "fish"},
      {"broccoli", "broccoli"}, {"skis", "skis"},    {"scissors", "scissors"}, {"tv", "tvs"},
      {"foot", "feet"},         {"tooth", "teeth"},  {"goose", "geese"}};
  for (const auto& [one, many] : kIrregular)
    if (noun == one) return many;
  auto ends = [&](const std::string& s) {
    return noun.size() >= s.size() && noun.compare(noun.size() - s.size(), s.size(), s) == 0;
  };
  if (ends("s") || ends("x") || ends("z") || ends("ch") || ends("sh")) return noun + "es";
  if (noun.size() >= 2 && noun.back() == 'y' &&
      std::string("aeiou").find(noun[noun.size() - 2]) == std::string::npos)
    return noun.substr(0, noun.size() - 1) + "ies";
  if (noun == "potato" || noun == "tomato" || noun == "hero") return noun + "es";
  return noun + "s";
}

// Whole-word phrase match: " red car " in " a red car on grass ".
bool mentions(const std::string& caption, const std::string& noun) {
  const std::string padded = " " + caption + " ";
  return padded.find(" " + noun + " ") != std::string::npos ||
         padded.find(" " + pluralize(noun) + " ") != std::string::npos;
}

std::vector<Scene> load_scenes() {
  std::vector<Scene> scenes;
  const fs::path truth = setting("EDGECAP_TEST_SCENES", repo("samples/scenes/ground_truth.jsonl"));
  std::ifstream in(truth);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto j = nlohmann::json::parse(line);
    Scene s;
    s.file = (truth.parent_path() / j.at("image").get<std::string>()).string();
    s.image = cv::imread(s.file, cv::IMREAD_COLOR);
    for (const auto& o : j.at("objects")) s.categories.push_back(o.at("category").get<std::string>());
    if (!s.image.empty()) scenes.push_back(std::move(s));
  }
  return scenes;
}

double reported_object_recall(const ModelMetadata& meta) {
  if (meta.training_json.empty()) return 0.0;
  const auto training = nlohmann::json::parse(meta.training_json);
  const auto scores = training.find("scores");
  if (scores == training.end() || !scores->is_object()) return 0.0;
  const auto recall = scores->find("object_recall");
  return recall != scores->end() && recall->is_number() ? recall->get<double>() : 0.0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : (v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]));
}

struct Variant {
  const char* key;
  Precision precision;
};

void PrintTo(const Variant& v, std::ostream* os) { *os << v.key << " " << to_string(v.precision); }

class TrainedModel : public ::testing::TestWithParam<Variant> {};

TEST_P(TrainedModel, CaptionsNameTheObjectsOfTheSampleScenes) {
  const Variant v = GetParam();
  const ModelCatalog catalog(setting("EDGECAP_TEST_MODELS_DIR", repo("models")),
                             setting("EDGECAP_TEST_PRUNED_DIR", repo("pruning_results")), Device::kCPU);
  const ModelEntry entry = catalog.resolve(v.key);
  const std::string path = ModelCatalog::path_for(entry, v.precision);
  if (!fs::is_regular_file(path)) GTEST_SKIP() << path << " is absent; build it with tools/build_models.sh";
  const std::vector<Scene> scenes = load_scenes();
  if (scenes.empty()) GTEST_SKIP() << "no sample scenes in samples/scenes (ground_truth.jsonl + PNG)";

  // One thread: on the shared 2-core box, two OpenMP threads spin against each other and other jobs and
  // make the numbers (and this test) 10x slower; see configure_threads() in captioner.h.
  configure_threads(1);
  LoadOptions options;
  options.path = path;
  options.precision = v.precision;
  Captioner captioner(options);
  EXPECT_GT(captioner.metadata().input.height, 32)
      << "this looks like the tiny test model, not a trained one";

  int objects = 0, recalled = 0;
  std::vector<double> model_ms;
  for (const Scene& s : scenes) {
    captioner.caption(s.image);  // warm-up: first-run allocations are not the model's latency
    const Caption c = captioner.caption(s.image);
    model_ms.push_back(c.times.encode_ms + c.times.decode_ms);
    std::ostringstream missing;
    for (const std::string& category : s.categories) {
      ++objects;
      if (mentions(c.text, category)) {
        ++recalled;
      } else {
        missing << " " << category;
      }
    }
    std::cout << "  " << fs::path(s.file).filename().string() << ": \"" << c.text << "\""
              << (missing.str().empty() ? "" : "   missing:" + missing.str()) << "\n";
  }
  const double recall = static_cast<double>(recalled) / std::max(objects, 1);
  std::cout << "[ model    ] " << v.key << " " << to_string(v.precision) << ": object recall " << recalled
            << "/" << objects << ", median encode+greedy " << median(model_ms) << " ms over "
            << model_ms.size() << " scenes (1 thread), load " << captioner.load_info().load_ms << " ms\n";
  RecordProperty("object_recall", std::to_string(recall));
  RecordProperty("median_caption_ms", std::to_string(median(model_ms)));
  // The model's own validation score (tools/train.py / tools/prune.py store it in the metadata:
  // greedy, 600 validation scenes) says how often it names an object; the sample scenes come from the test
  // split and were picked for held-out sprite sources and crowded scenes, so they score lower. Measured
  // on the first trained model: validation 0.645, C++ 17/45 on the samples (the same 16 captions as
  // tools/common.py greedy), 9/45 with red and blue swapped; epoch-4 checkpoint: 0.12, 6/45, 1/45 swapped.
  // 0.4 x the reported recall sits between the working variants and the swapped input.
  const double reported = reported_object_recall(captioner.metadata());
  if (reported <= 0.0) GTEST_SKIP() << "the metadata has no training.scores.object_recall to compare with";
  std::cout << "[ model    ] validation object recall in the metadata: " << reported << "\n";
  EXPECT_GE(recall, 0.4 * reported) << recalled << " of " << objects << " objects named";
}

INSTANTIATE_TEST_SUITE_P(
    Variants, TrainedModel,
    ::testing::Values(Variant{"original", Precision::kFP32}, Variant{"original", Precision::kINT8},
                      Variant{"original", Precision::kBF16}, Variant{"pruned", Precision::kFP32},
                      Variant{"pruned", Precision::kINT8}),
    [](const ::testing::TestParamInfo<Variant>& info) {
      return std::string(info.param.key) + "_" + std::string(to_string(info.param.precision));
    });

TEST(Pluralize, FollowsTheDatasetGrammar) {
  EXPECT_EQ(pluralize("car"), "cars");
  EXPECT_EQ(pluralize("bus"), "buses");
  EXPECT_EQ(pluralize("person"), "people");
  EXPECT_EQ(pluralize("teddy bear"), "teddy bears");
  EXPECT_EQ(pluralize("butterfly"), "butterflies");
  EXPECT_TRUE(mentions("two red cars on the road", "car"));
  EXPECT_FALSE(mentions("a scar on grass", "car"));
}

}  // namespace
}  // namespace edgecap
