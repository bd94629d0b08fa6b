// edgecap_soak: the long-run check. Loads, captions with and switches between model variants the way the
// app does (the new model is loaded before the old one is dropped), with a failing load now and then, and
// reports process RSS (start, after warm-up, end, peak), open file descriptors and threads from
// system_info.h. Fails when memory keeps growing after warm-up or when fds/threads are not given back.
//
//   edgecap_soak --model tests/data/tiny_model.pt --int8 tests/data/tiny_model.int8.pt
//                --captions 10000 --switches 200 [--broken tests/data/broken_wrong-shape.pt]
//
// Why "after warm-up": the first loads and inferences of each variant and beam width fill allocator pools,
// LibTorch's thread pool and OpenCV's resize buffers; those are one-off costs, not leaks. Warm-up ends
// after every (variant, beam) pair ran at least twice. A leak is growth after that point.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <opencv2/core.hpp>

#include "edgecap/captioner.h"
#include "edgecap/error.h"
#include "edgecap/precision.h"
#include "edgecap/system_info.h"

namespace {

struct Options {
  std::string model = "tests/data/tiny_model.pt";
  std::string int8 = "tests/data/tiny_model.int8.pt";
  std::string broken;  // when set, every 10th switch first tries this file and must get a ModelError
  int captions = 10000;
  int switches = 200;
  double max_growth_mb = 2.0;  // >10x the 0.17 MB measured on the tiny model; docs/RELIABILITY.md "Soak"
  int threads = 1;
  int inject_leak_kb = 0;  // self-test of the check: leak this much per caption on purpose (must FAIL)
};

struct Reading {
  double rss_mb = 0;
  int fds = 0;
  int threads = 0;
};

Reading read_now() {
  return {edgecap::process_memory().rss_mb, edgecap::open_file_descriptors(), edgecap::thread_count()};
}

[[noreturn]] void usage_exit(const std::string& why) {
  std::fprintf(stderr,
               "edgecap_soak: %s\nusage: edgecap_soak [--model FP32.pt] [--int8 INT8.pt] [--broken BAD.pt]\n"
               "                    [--captions N] [--switches M] [--max-growth-mb MB] [--threads T]\n"
               "                    [--inject-leak-kb K]\n",
               why.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage_exit("missing value after " + flag);
    const std::string value = argv[++i];
    if (flag == "--model")
      o.model = value;
    else if (flag == "--int8")
      o.int8 = value;
    else if (flag == "--broken")
      o.broken = value;
    else if (flag == "--captions")
      o.captions = std::stoi(value);
    else if (flag == "--switches")
      o.switches = std::stoi(value);
    else if (flag == "--max-growth-mb")
      o.max_growth_mb = std::stod(value);
    else if (flag == "--threads")
      o.threads = std::stoi(value);
    else if (flag == "--inject-leak-kb")
      o.inject_leak_kb = std::stoi(value);
    else
      usage_exit("unknown flag " + flag);
  }
  if (o.captions < 1 || o.switches < 1 || o.switches > o.captions) {
    usage_exit("need 1 <= --switches <= --captions");
  }
  return o;
}

struct Variant {
  std::string path;
  edgecap::Precision precision;
};

// Least-squares slope of y over x: the trend, so one late allocator hiccup does not read as a leak and a
// slow steady leak does not hide inside the noise of a two-point difference.
double slope(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  if (n < 2) return 0;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sx += x[i], sy += y[i], sxx += x[i] * x[i], sxy += x[i] * y[i];
  }
  const double d = n * sxx - sx * sx;
  return d == 0 ? 0 : (n * sxy - sx * sy) / d;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  edgecap::configure_threads(opt.threads);
  const std::vector<Variant> variants = {{opt.model, edgecap::Precision::kFP32},
                                         {opt.int8, edgecap::Precision::kINT8},
                                         {opt.model, edgecap::Precision::kBF16}};
  const int beams[] = {1, 3};
  const Reading start = read_now();
  const auto t0 = std::chrono::steady_clock::now();

  // Frames of varying size and content, like a camera that changes resolution or a folder of mixed images.
  std::mt19937 rng(42);
  std::vector<cv::Mat> frames;
  for (cv::Size size : {cv::Size(640, 480), cv::Size(320, 240), cv::Size(1280, 720), cv::Size(33, 17)}) {
    cv::Mat m(size, CV_8UC3);
    cv::randu(m, cv::Scalar::all(0), cv::Scalar::all(255));
    frames.push_back(m);
  }

  std::unique_ptr<edgecap::Captioner> current;
  int loaded_variant = -1;
  int captions = 0, switches = 0, failed_loads = 0, unfinished = 0;
  const int per_switch = opt.captions / (opt.switches + 1);  // +1: the first load is not a switch
  const int warmup_switches = std::min(opt.switches / 2, static_cast<int>(variants.size()) * 2 * 2);
  Reading warm{};
  double warm_at_caption = 0;
  std::vector<double> trend_x, trend_y;

  auto switch_to = [&](int index) {
    if (!opt.broken.empty() && switches % 10 == 9) {
      try {
        edgecap::Captioner bad({opt.broken, edgecap::Precision::kFP32});
        std::fprintf(stderr, "edgecap_soak: %s loaded although it breaks the contract\n", opt.broken.c_str());
        std::exit(1);
      } catch (const edgecap::ModelError&) {
        ++failed_loads;  // what the app shows, keeping the previous model
      }
    }
    const Variant& v = variants[index];
    auto next = std::make_unique<edgecap::Captioner>(edgecap::LoadOptions{v.path, v.precision});
    current = std::move(next);  // the old model is dropped only once the new one works, like the app
    loaded_variant = index;
    ++switches;
  };

  try {
    switch_to(0);
    while (captions < opt.captions) {
      const cv::Mat& frame = frames[captions % frames.size()];
      const int beam = beams[(captions / 7) % 2];
      const edgecap::Caption c = current->caption(frame, beam);
      if (!c.finished) ++unfinished;
      if (opt.inject_leak_kb > 0) {
        // Touched, so it counts in RSS; never freed, so the check below must catch it.
        char* leak = new char[static_cast<std::size_t>(opt.inject_leak_kb) * 1024];
        std::fill_n(leak, static_cast<std::size_t>(opt.inject_leak_kb) * 1024, static_cast<char>(captions));
        asm volatile("" : : "r"(leak) : "memory");
      }
      ++captions;
      if (captions % per_switch == 0 && switches < opt.switches + 1 && captions < opt.captions) {
        switch_to((loaded_variant + 1) % static_cast<int>(variants.size()));
        if (switches == warmup_switches + 1) {
          warm = read_now();
          warm_at_caption = captions;
        }
        if (switches > warmup_switches) {
          trend_x.push_back(captions);
          trend_y.push_back(edgecap::process_memory().rss_mb);
        }
      }
    }
    current.reset();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edgecap_soak: failed after %d captions, %d switches: %s\n", captions, switches,
                 e.what());
    return 1;
  }

  const Reading end = read_now();
  const double peak = edgecap::process_memory().peak_rss_mb;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double growth = end.rss_mb - warm.rss_mb;
  const double kb_per_1000 = slope(trend_x, trend_y) * 1024.0 * 1000.0;
  // The first switch loads a model from nothing; it is not a switch between models.
  const int model_switches = switches - 1;

  fmt::print(
      "soak: {} captions ({} cut at max length), {} model switches, {} refused broken loads, "
      "{:.1f} s ({:.0f} captions/s)\n",
      captions, unfinished, model_switches, failed_loads, seconds, captions / seconds);
  fmt::print("variants: fp32 {} | int8 {} | bf16 {}; beams 1 and 3; LibTorch threads {}\n", opt.model,
             opt.int8, opt.model, opt.threads);
  fmt::print(
      "rss_mb: start {:.1f}  warm {:.1f} (after {} switches, {:.0f} captions)  end {:.1f}  peak {:.1f}\n",
      start.rss_mb, warm.rss_mb, warmup_switches, warm_at_caption, end.rss_mb, peak);
  fmt::print("growth_after_warmup_mb: {:.2f} (limit {:.1f})  trend: {:.1f} KB per 1000 captions\n", growth,
             opt.max_growth_mb, kb_per_1000);
  fmt::print("fds: start {}  warm {}  end {}\n", start.fds, warm.fds, end.fds);
  fmt::print("threads: start {}  warm {}  end {}\n", start.threads, warm.threads, end.threads);

  std::vector<std::string> failures;
  if (growth > opt.max_growth_mb) failures.push_back(fmt::format("RSS grew {:.2f} MB after warm-up", growth));
  if (end.fds > warm.fds)
    failures.push_back(fmt::format("{} file descriptors not closed", end.fds - warm.fds));
  if (end.threads > warm.threads) {
    failures.push_back(fmt::format("{} threads not joined", end.threads - warm.threads));
  }
  if (model_switches < opt.switches) {
    failures.push_back(fmt::format("only {} of {} switches ran", model_switches, opt.switches));
  }
  for (const auto& f : failures) fmt::print("FAIL: {}\n", f);
  fmt::print("result: {}\n", failures.empty() ? "PASS" : "FAIL");
  return failures.empty() ? 0 : 1;
}
