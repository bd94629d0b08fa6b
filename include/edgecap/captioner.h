#pragma once
// One loaded model variant (file + precision + device) and the captioning of one frame.
// LibTorch stays behind the pimpl: including this header does not pull in torch.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "edgecap/metadata.h"
#include "edgecap/precision.h"

namespace edgecap {

struct LoadOptions {
  std::string path;                        // a regular file; TorchScript is code: load only files you trust
  Precision precision = Precision::kFP32;  // kINT8 expects a quantized file (precision "int8" in metadata)
  Device device = Device::kCPU;
  bool verify = true;    // run the contract check (trial encode + step) after loading
  bool optimize = true;  // FP32 on CPU: freeze + optimize_for_inference when it gives the same log-probs
  // FP32 on CPU, architecture "cnn-attention-lstm": run the decoder step with ATen calls instead of the
  // TorchScript interpreter when it gives the module's log-probs. The environment variable
  // EDGECAP_NATIVE_STEP=0 turns it off too.
  bool native_step = true;
};

struct LoadInfo {
  std::string path;
  uint64_t file_bytes = 0;
  std::string sha256;            // hex digest of the file
  double load_ms = 0.0;          // torch::jit::load + conversion + verification + optimization
  std::string quantized_engine;  // engine in force while this model runs ("" if not INT8)
  bool optimized = false;        // the frozen, optimize_for_inference module is the one running
  bool native_step = false;      // the decoder step runs as ATen calls, not through the interpreter
  // Which decoder step runs, for the load summary: "native ATen (verified, max |Δ| 3.0e-07)" or
  // "TorchScript (why the native step is not used)".
  std::string decoder;
};

struct StageTimes {
  double preprocess_ms = 0.0;
  double encode_ms = 0.0;
  double decode_ms = 0.0;
  double total_ms = 0.0;  // preprocess + encode + decode, as one wall-clock span
};

struct Caption {
  std::string text;  // words joined by spaces
  std::vector<std::string> words;
  std::vector<int64_t> tokens;
  std::vector<float> token_log_probs;
  float score = 0.0f;
  bool finished = false;  // reached <end> within max_caption_length
  int steps = 0;
  int grid_h = 0;
  int grid_w = 0;
  std::vector<std::vector<float>> attention;  // one grid_h*grid_w map per word (empty if the model has none)
  StageTimes times;
};

class Captioner {
 public:
  // Loads and verifies; throws ModelError (missing file, not a regular file, corrupt, contract broken,
  // precision not available on this build/device) with a message that says what to do.
  explicit Captioner(const LoadOptions& options);
  ~Captioner();
  Captioner(const Captioner&) = delete;
  Captioner& operator=(const Captioner&) = delete;

  // beam <= 1: greedy; otherwise beam search ranked by the per-token average log-prob (as
  // tools/common.py does), so `score` is that average in both cases. Not thread-safe: one caption at a
  // time per Captioner. Throws std::invalid_argument for an empty or non-8-bit frame (see preprocess.h)
  // and ModelError if the model fails while running.
  Caption caption(const cv::Mat& frame, int beam = 1);

  const ModelMetadata& metadata() const;
  const LoadInfo& load_info() const;
  Precision precision() const;
  Device device() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads only the metadata of a model file (fast; no verification run). Throws ModelError.
ModelMetadata read_model_metadata(const std::string& path);

// Runtime facts about the LibTorch build, for menus and reports.
struct RuntimeInfo {
  std::string torch_version;
  bool cuda_available = false;
  int intra_op_threads = 0;
  int inter_op_threads = 0;
  std::vector<std::string> quantized_engines;  // supported engines, e.g. {"qnnpack", "onednn"}
  std::string parallel_info;                   // at::get_parallel_info(), one line per fact
};
RuntimeInfo runtime_info();
// The intra-op thread count `--threads 0` means: 1 on machines with 2 physical cores or fewer (measured
// there: a second thread made captions 20-200x slower), else one per physical core.
int default_thread_count();
// Sets LibTorch intra-op threads (0 = default_thread_count()) and, once, one inter-op thread. Call before
// the first inference, on the thread that will run it (OpenMP keeps the count per thread). Measured on the
// 2-core box while it was busy: 2 threads with libgomp's default spin-wait made a caption 7-40x slower
// than 1 thread; OMP_WAIT_POLICY=PASSIVE in the environment at process start removes that penalty.
void configure_threads(int threads);

}  // namespace edgecap
