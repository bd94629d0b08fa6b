#include "edgecap/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace edgecap {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

ReportContext context() {
  ReportContext c;
  c.variant = "Original Model + INT8";
  c.file = "models/lightweight_captioning_model.int8.pt";
  c.file_bytes = 3 * 1024 * 1024;
  c.sha256 = "feedfacecafebeef0011";
  c.threads = 2;
  c.quantized_engine = "qnnpack";
  c.torch_version = "1.13.1";
  c.rss_mb = 245.5;
  c.peak_rss_mb = 260.26;
  c.gpu = "GPU: n/a (CPU build)";
  return c;
}

TEST(ReportTest, SectionsAndNumbersFromKnownSamples) {
  PerformanceMonitor monitor;
  for (double v : {10.0, 20.0, 30.0}) monitor.record("model", v);
  monitor.record("preprocess", 1.0);
  monitor.record("encode", 4.0);
  monitor.record("decode", 15.0);
  monitor.record("frame_age", 40.0);
  monitor.record("end_to_end", 300.0);
  monitor.record("speech", 80.0);
  const std::string r = format_report(monitor, context());
  EXPECT_THAT(r, HasSubstr("=== Performance statistics (JTOPS style) ===\n"));
  EXPECT_THAT(r, HasSubstr("Model:      Original Model + INT8\n"));
  EXPECT_THAT(r, HasSubstr("File:       models/lightweight_captioning_model.int8.pt"));
  EXPECT_THAT(r, HasSubstr("sha256 feedfacecafe)"));
  EXPECT_THAT(r,
              HasSubstr("Latency (last 30):        mean 20.00 ms, median 20.00 ms, min/max 10.00 / 30.00 ms, "
                        "std 10.00 ms, p90/p95/p99 28.00 / 29.00 / 29.80 ms (n=3)"));
  EXPECT_THAT(r, HasSubstr("Latency (session):        mean 20.00 ms"));
  EXPECT_THAT(
      r, HasSubstr("Throughput: FPS 50.0 frame/sec (= 1000 / mean model ms), 1 frame processing 20.00 ms"));
  EXPECT_THAT(r, HasSubstr("  model (pre+enc+dec):"));
  EXPECT_THAT(r, HasSubstr("  end-to-end:             mean 300.00 ms"));
  EXPECT_THAT(r, HasSubstr("Stages (session mean / p95):"));
  EXPECT_THAT(r, HasSubstr("  preprocess  1.00 / 1.00 ms (n=1)"));
  EXPECT_THAT(r, HasSubstr("  decode      15.00 / 15.00 ms (n=1)"));
  EXPECT_THAT(r, HasSubstr("  speech      80.00 / 80.00 ms (n=1)"));
  EXPECT_THAT(r, HasSubstr("Frame age:  mean 40.0 ms"));
  EXPECT_THAT(r, HasSubstr("Memory:     CPU RSS 245.5 MB (peak 260.3 MB), GPU: n/a (CPU build)"));
  EXPECT_THAT(r, HasSubstr("Runtime:    threads 2 (intra-op), quantized engine qnnpack, torch 1.13.1"));
  EXPECT_THAT(r, HasSubstr("Cumulative: total inferences 3\n"));
  // cv = 10 / 20 = 0.5
  EXPECT_THAT(
      r,
      HasSubstr("WARNING: spread too wide to trust: model latency (last 30) cv 0.50 > 0.25 over 3 samples"));
}

TEST(ReportTest, WindowIsTheLastThirtySessionIsAll) {
  PerformanceMonitor monitor;
  for (int i = 0; i < 10; ++i) monitor.record("model", 100.0);
  for (int i = 0; i < 30; ++i) monitor.record("model", 10.0);
  const std::string r = format_report(monitor, context());
  EXPECT_THAT(r, HasSubstr("Latency (last 30):        mean 10.00 ms"));
  EXPECT_THAT(r, HasSubstr("(n=30)"));
  EXPECT_THAT(r, HasSubstr("Latency (session):        mean 32.50 ms"));
  EXPECT_THAT(r, HasSubstr("(n=40)"));
  EXPECT_THAT(r, HasSubstr("FPS 100.0"));
  EXPECT_THAT(r, HasSubstr("total inferences 40"));
  EXPECT_THAT(r, Not(HasSubstr("model latency (last 30) cv")));  // the window itself is steady
}

TEST(ReportTest, TightSamplesGiveNoWarning) {
  PerformanceMonitor monitor;
  for (double v : {10.0, 10.5, 9.5, 10.2}) monitor.record("model", v);
  EXPECT_THAT(format_report(monitor, context()), Not(HasSubstr("WARNING")));
}

TEST(ReportTest, EmptyMonitorAndSpeechOff) {
  PerformanceMonitor monitor;
  ReportContext c = context();
  c.speech_on = false;
  c.quantized_engine.clear();
  const std::string r = format_report(monitor, c);
  EXPECT_THAT(r, HasSubstr("Latency (last 30):        no samples yet"));
  EXPECT_THAT(r, HasSubstr("Throughput: no samples yet"));
  EXPECT_THAT(r, HasSubstr("n/a (speech off"));
  EXPECT_THAT(r, HasSubstr("quantized engine none (not INT8)"));
  EXPECT_THAT(r, HasSubstr("total inferences 0"));
  EXPECT_THAT(r, Not(HasSubstr("WARNING")));
  EXPECT_THAT(r, Not(HasSubstr("Decoder:")));  // not reported when the Captioner did not say
}

TEST(ReportTest, SaysWhichDecoderStepRuns) {
  PerformanceMonitor monitor;
  ReportContext c = context();
  c.decoder = "native ATen (verified, max |diff| 1.9e-06)";
  EXPECT_THAT(format_report(monitor, c),
              HasSubstr("Decoder:    native ATen (verified, max |diff| 1.9e-06)\n"));
}

TEST(ReportTest, CaptionAndStatusLines) {
  Caption c;
  c.text = "a red ball";
  c.times.total_ms = 12.34;
  EXPECT_EQ(format_caption_line(c, 40.4), "[caption] a red ball  (model 12.3 ms, frame age 40 ms)");
  EXPECT_EQ(
      format_status_line("Original Model + FP32", 29.94, -1, 100.4, 0, false),
      "[status] Original Model + FP32 | preview 29.9 fps | last - | RSS 100 MB | 0 captions | auto off");
  EXPECT_THAT(format_status_line("x", 1, 5.55, 1, 3, true), HasSubstr("last 5.5 ms"));
}

TEST(ReportTest, GpuTextSaysWhyThereIsNoNumber) {
  RuntimeInfo cpu_build;
  EXPECT_EQ(gpu_memory_text(cpu_build, Device::kCPU), "GPU: n/a (CPU build)");
  RuntimeInfo cuda_build;
  cuda_build.cuda_available = true;
  EXPECT_EQ(gpu_memory_text(cuda_build, Device::kCPU), "GPU: n/a (running on CPU)");
}

}  // namespace
}  // namespace edgecap
