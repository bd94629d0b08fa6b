#include "edgecap/model_catalog.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "edgecap/error.h"

namespace edgecap {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class Catalog : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("edgecap_catalog_test_" + std::to_string(::getpid()));
    fs::create_directories(root_ / "models");
    fs::create_directories(root_ / "pruned");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  void touch(const fs::path& relative) { std::ofstream(root_ / relative) << "x"; }
  ModelCatalog catalog(Device device = Device::kCPU) const {
    return ModelCatalog((root_ / "models").string(), (root_ / "pruned").string(), device);
  }
  static const PrecisionEntry& find(const std::vector<PrecisionEntry>& list, Precision p) {
    for (const auto& e : list)
      if (e.precision == p) return e;
    throw std::logic_error("precision missing");
  }
  fs::path root_;
};

TEST_F(Catalog, ListsOriginalThenPrunedWithTheSeedFileNames) {
  const auto models = catalog().models();
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].key, "original");
  EXPECT_EQ(models[0].label, "Original Model");
  EXPECT_EQ(models[0].fp32_path, (root_ / "models" / "lightweight_captioning_model.pt").string());
  EXPECT_EQ(models[0].int8_path, (root_ / "models" / "lightweight_captioning_model.int8.pt").string());
  EXPECT_EQ(models[1].key, "pruned");
  EXPECT_EQ(models[1].label, "Pruned Model (Struct 30% + Mag 10%)");
  EXPECT_EQ(models[1].fp32_path, (root_ / "pruned" / "Pruning_epoch_1_checkpoint.pt").string());
}

TEST_F(Catalog, MissingFilesAreUnavailableWithHowToGetThem) {
  const auto models = catalog().models();
  for (const auto& m : models) {
    EXPECT_FALSE(m.availability.available);
    EXPECT_THAT(m.availability.reason, HasSubstr("file not found: " + m.fp32_path));
    EXPECT_THAT(m.availability.reason, HasSubstr("tools/build_models.sh"));
  }
  touch("models/lightweight_captioning_model.pt");
  const auto after = catalog().models();
  EXPECT_TRUE(after[0].availability.available);
  EXPECT_TRUE(after[0].availability.reason.empty());
  EXPECT_FALSE(after[1].availability.available);
}

TEST_F(Catalog, DirectoryInPlaceOfTheFileIsUnavailable) {
  fs::create_directories(root_ / "models" / "lightweight_captioning_model.pt");
  const auto models = catalog().models();
  EXPECT_FALSE(models[0].availability.available);
  EXPECT_THAT(models[0].availability.reason, HasSubstr("not a regular file"));
}

TEST_F(Catalog, CpuPrecisionsWithReasons) {
  touch("models/lightweight_captioning_model.pt");
  const ModelCatalog c = catalog();
  const ModelEntry original = c.models()[0];
  auto list = c.precisions(original);
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list[0].precision, Precision::kFP32);
  EXPECT_TRUE(find(list, Precision::kFP32).availability.available);
  EXPECT_TRUE(find(list, Precision::kBF16).availability.available);
  EXPECT_FALSE(find(list, Precision::kFP16).availability.available);
  EXPECT_EQ(find(list, Precision::kFP16).availability.reason,
            "needs CUDA (LibTorch 1.13 has no CPU half kernels)");
  EXPECT_FALSE(find(list, Precision::kINT8).availability.available);
  EXPECT_EQ(find(list, Precision::kINT8).availability.reason,
            "no quantized sibling " + original.int8_path + "; make it with tools/export.py");

  touch("models/lightweight_captioning_model.int8.pt");
  list = c.precisions(original);
  EXPECT_TRUE(find(list, Precision::kINT8).availability.available);  // this build has qnnpack/onednn
}

TEST_F(Catalog, MissingModelMakesItsPrecisionsUnavailable) {
  const ModelCatalog c = catalog();
  const auto list = c.precisions(c.models()[1]);
  EXPECT_FALSE(find(list, Precision::kFP32).availability.available);
  EXPECT_THAT(find(list, Precision::kFP32).availability.reason, HasSubstr("file not found"));
  EXPECT_FALSE(find(list, Precision::kBF16).availability.available);
}

TEST_F(Catalog, CudaRefusesInt8) {
  touch("models/lightweight_captioning_model.pt");
  touch("models/lightweight_captioning_model.int8.pt");
  const ModelCatalog c = catalog(Device::kCUDA);
  const auto list = c.precisions(c.models()[0]);
  EXPECT_FALSE(find(list, Precision::kINT8).availability.available);
  EXPECT_EQ(find(list, Precision::kINT8).availability.reason, "INT8 dynamic quantization runs on CPU only");
}

TEST_F(Catalog, ResolvesNamesAndPaths) {
  const ModelCatalog c = catalog();
  EXPECT_EQ(c.resolve("original").key, "original");
  EXPECT_EQ(c.resolve("Pruned").key, "pruned");
  touch("custom.pt");
  const ModelEntry custom = c.resolve((root_ / "custom.pt").string());
  EXPECT_EQ(custom.key, "custom");
  EXPECT_EQ(custom.label, "custom.pt");
  EXPECT_EQ(custom.fp32_path, (root_ / "custom.pt").string());
  EXPECT_EQ(custom.int8_path, (root_ / "custom.int8.pt").string());
  EXPECT_TRUE(custom.availability.available);

  touch("only.int8.pt");
  const ModelEntry quantized = c.resolve((root_ / "only.int8.pt").string());
  EXPECT_EQ(ModelCatalog::path_for(quantized, Precision::kINT8), (root_ / "only.int8.pt").string());
  EXPECT_EQ(ModelCatalog::path_for(quantized, Precision::kFP32), (root_ / "only.pt").string());
}

TEST_F(Catalog, UnknownNameNamesTheChoices) {
  try {
    catalog().resolve("orignal");
    FAIL() << "resolve accepted an unknown name";
  } catch (const UsageError& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown model 'orignal'"));
    EXPECT_THAT(e.what(), HasSubstr("choose original, pruned, or the path of a .pt file"));
  }
  EXPECT_THROW(catalog().resolve((root_ / "models").string()), UsageError);
}

TEST(CatalogPaths, Int8SiblingAndPathFor) {
  EXPECT_EQ(ModelCatalog::int8_sibling("models/a.pt"), "models/a.int8.pt");
  EXPECT_EQ(ModelCatalog::int8_sibling("a.int8.pt"), "a.int8.pt");
  EXPECT_EQ(ModelCatalog::int8_sibling("model"), "model.int8.pt");
  ModelEntry e;
  e.fp32_path = "m.pt";
  e.int8_path = "m.int8.pt";
  EXPECT_EQ(ModelCatalog::path_for(e, Precision::kINT8), "m.int8.pt");
  EXPECT_EQ(ModelCatalog::path_for(e, Precision::kBF16), "m.pt");
  EXPECT_EQ(ModelCatalog::path_for(e, Precision::kFP32), "m.pt");
}

}  // namespace
}  // namespace edgecap
