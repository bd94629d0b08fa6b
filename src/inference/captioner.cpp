#include "edgecap/captioner.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <utility>

#include <ATen/Parallel.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/cuda.h>
#include <torch/script.h>
#include <torch/version.h>

#include "edgecap/decoder.h"
#include "edgecap/error.h"
#include "edgecap/hash.h"
#include "edgecap/preprocess.h"
#include "edgecap/system_info.h"
#include "native_step.h"
#include "torch_runtime.h"

namespace edgecap {

namespace detail {

bool cuda_available() { return torch::cuda::is_available(); }

std::vector<std::string> quantized_engines() {
  std::vector<std::string> names;
  for (at::QEngine engine : at::globalContext().supportedQEngines()) {
    if (engine == at::QEngine::NoQEngine) continue;
    std::string name = c10::toString(engine);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    names.push_back(std::move(name));
  }
  return names;
}

}  // namespace detail

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using State = detail::StepState;
using detail::shape_of;

constexpr const char* kMetadataFile = "edgecap.json";
constexpr const char* kContract = " (docs/MODEL_CONTRACT.md)";

// LibTorch warns through c10's handler on every call of some kernels (qnnpack's dynamic Linear repeats
// its reduce_range note for each layer at each step), which would flood the terminal of a live session.
// Each distinct message is passed on once.
class OnceWarningHandler : public c10::WarningHandler {
 public:
  void process(const c10::SourceLocation& location, const std::string& msg, bool verbatim) override {
    // qnnpack's note that it ignores reduce_range describes how every INT8 file here runs and asks nothing
    // of the user; printed once it still lands in the middle of the terminal UI.
    if (msg.find("incorrectly ignores reduce_range") != std::string::npos) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!seen_.insert(msg).second) return;
    }
    base_.process(location, msg, verbatim);
  }

 private:
  std::mutex mutex_;
  std::set<std::string> seen_;
  c10::WarningHandler base_;
};

// Installed per thread that runs the model: c10 keeps the handler per thread in some builds.
void install_warning_filter() {
  static OnceWarningHandler handler;
  if (c10::Warning::get_warning_handler() != &handler) c10::Warning::set_warning_handler(&handler);
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// c10::Error::what() carries a C++ backtrace; users need the first line only.
std::string first_line(const std::string& text) {
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

std::string torch_message(const c10::Error& e) { return first_line(e.what_without_backtrace()); }

void check_regular_file(const std::string& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    throw ModelError("model file not found: " + path +
                     "; build the models with tools/build_models.sh or pass the path of a .pt file");
  }
  if (fs::is_directory(status)) {
    throw ModelError(path + " is a directory, not a model file; pass the .pt file inside it");
  }
  if (!fs::is_regular_file(status)) throw ModelError(path + " is not a regular file; pass a .pt model file");
  if (fs::file_size(path, ec) == 0) throw ModelError(path + " is empty (0 bytes); re-export the model");
}

bool looks_like_zip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::memcmp(magic, "PK\x03\x04", 4) == 0;
}

[[noreturn]] void throw_unloadable(const std::string& path, const std::string& detail) {
  if (!looks_like_zip(path)) {
    throw ModelError(
        "cannot load " + path +
        ": not a TorchScript file (TorchScript files are zip archives written by torch.jit.save; "
        "a state_dict or pickled checkpoint will not do); export it with tools/export.py");
  }
  throw ModelError("cannot load " + path + ": the file is corrupt or truncated (" + detail +
                   "); copy it again or re-export it with tools/export.py");
}

// Reads edgecap.json straight from the zip, without building the module: cheap enough for menus, and it
// lets the loader pick the quantized engine before the quantized weights are unpacked.
std::string read_metadata_text(const std::string& path) {
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    const std::string record = std::string("extra/") + kMetadataFile;
    if (!reader.hasRecord(record)) return {};
    auto [data, size] = reader.getRecord(record);
    return std::string(static_cast<const char*>(data.get()), size);
  } catch (const c10::Error& e) {
    throw_unloadable(path, torch_message(e));
  }
}

ModelMetadata parse_for(const std::string& path, const std::string& text) {
  try {
    return parse_metadata(text);
  } catch (const ModelError& e) {
    throw ModelError(path + ": " + e.what());
  }
}

// Dynamic INT8 kernels come from the global quantized engine, and the packed weights are built for the
// engine in force when the file is loaded, so it is set first. The file's own engine wins when this build
// has it; then onednn (what tools/export.py targets), then qnnpack.
std::string select_quantized_engine(const ModelMetadata& meta) {
  const std::vector<std::string> supported = detail::quantized_engines();
  std::vector<std::string> wanted;
  if (!meta.quantized_engine.empty()) wanted.push_back(meta.quantized_engine);
  wanted.insert(wanted.end(), {"onednn", "qnnpack"});
  for (const std::string& name : wanted) {
    if (std::find(supported.begin(), supported.end(), name) == supported.end()) continue;
    const at::QEngine engine = name == "qnnpack"  ? at::QEngine::QNNPACK
                               : name == "onednn" ? at::QEngine::ONEDNN
                               : name == "fbgemm" ? at::QEngine::FBGEMM
                               : name == "x86"    ? at::QEngine::X86
                                                  : at::QEngine::NoQEngine;
    if (engine == at::QEngine::NoQEngine) continue;
    at::globalContext().setQEngine(engine);
    return name;
  }
  throw ModelError(
      "INT8 needs a quantized engine (qnnpack or onednn) and this LibTorch build has none; "
      "use FP32 or BF16");
}

void check_precision(const LoadOptions& options, const ModelMetadata& meta) {
  const bool cuda = options.device == Device::kCUDA;
  if (cuda && !detail::cuda_available()) {
    throw ModelError(
        "CUDA was asked for but is not available (this LibTorch build or machine has no GPU); "
        "use --device cpu");
  }
  switch (options.precision) {
    case Precision::kFP16:
      if (!cuda) {
        throw ModelError(
            "FP16 needs CUDA: LibTorch 1.13 has no CPU half kernels for conv/linear; use FP32, BF16 or INT8");
      }
      break;
    case Precision::kINT8:
      if (cuda) throw ModelError("INT8 dynamic quantization runs on CPU only; use --device cpu or FP16/FP32");
      if (meta.precision != "int8") {
        throw ModelError(
            options.path + " holds " + meta.precision +
            " weights; INT8 needs the quantized sibling (*.int8.pt); make it with tools/export.py");
      }
      break;
    case Precision::kFP32:
    case Precision::kBF16:
      if (meta.precision == "int8") {
        throw ModelError(options.path +
                         " holds INT8 (quantized) weights; choose INT8 for it, or load the FP32 file");
      }
      break;
  }
}

State to_state(const c10::IValue& value, const char* method) {
  if (!value.isGenericDict()) {
    throw ModelError(std::string("model breaks the contract") + kContract + ": " + method +
                     " must return Dict[str, Tensor], got " + value.tagKind());
  }
  State state;
  for (const auto& item : value.toGenericDict()) {
    if (!item.key().isString() || !item.value().isTensor()) {
      throw ModelError(std::string("model breaks the contract") + kContract + ": " + method +
                       " must return Dict[str, Tensor]");
    }
    state.emplace_back(item.key().toStringRef(), item.value().toTensor());
  }
  return state;
}

c10::Dict<std::string, at::Tensor> to_dict(const State& state) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [key, tensor] : state) dict.insert(key, tensor);
  return dict;
}

}  // namespace

struct Captioner::Impl {
  LoadOptions options;
  ModelMetadata meta;
  LoadInfo info;
  torch::jit::Module module;
  c10::Device device{c10::kCPU};
  at::ScalarType input_type = at::kFloat;
  std::unique_ptr<detail::NativeStep> native;               // set when the native step matched the module's
  std::unique_ptr<detail::NativeEncodeTail> native_encode;  // INT8 only, set when it matched too

  State encode(const at::Tensor& image) {
    if (native_encode) return native_encode->run(image);
    return to_state(module.get_method("encode")({image}), "encode");
  }

  // One step: tokens [rows] int64 -> log-probs [rows, V] as float32 on the CPU, plus the new state.
  std::pair<at::Tensor, State> step(const std::vector<int64_t>& tokens, const State& state) {
    if (native) return native->run(tokens, state);
    at::Tensor token_tensor = torch::from_blob(const_cast<int64_t*>(tokens.data()),
                                               {static_cast<int64_t>(tokens.size())}, at::kLong)
                                  .to(device);
    auto out = module.get_method("step")({token_tensor, to_dict(state)});
    if (!out.isTuple() || out.toTupleRef().elements().size() != 2 ||
        !out.toTupleRef().elements()[0].isTensor()) {
      throw ModelError(std::string("model breaks the contract") + kContract +
                       ": step must return (Tensor log-probs, Dict[str, Tensor] state)");
    }
    const auto& elements = out.toTupleRef().elements();
    return {elements[0].toTensor().to(at::kFloat).cpu().contiguous(), to_state(elements[1], "step")};
  }

  at::Tensor input_tensor(const ImageTensor& image) {
    return torch::from_blob(const_cast<float*>(image.data.data()),
                            {1, image.channels, image.height, image.width}, at::kFloat)
        .to(device, input_type);
  }

  // Greedy log-probs of a few steps on a fixed, non-blank image: enough to tell whether two modules
  // compute the same function. With rows > 1 the rows start from different tokens (as beam search's do),
  // each row then follows its own argmax. Returns [steps * rows, V].
  at::Tensor probe_steps(int rows, int steps) {
    c10::InferenceMode guard;
    at::Tensor image = torch::linspace(-2.0, 2.0, 3 * meta.input.height * meta.input.width, at::kFloat)
                           .reshape({1, 3, meta.input.height, meta.input.width})
                           .to(device, input_type);
    State state = encode(image);
    if (rows > 1) {
      const at::Tensor index = torch::zeros({rows}, at::kLong).to(device);
      for (auto& entry : state) entry.second = entry.second.index_select(0, index);
    }
    const auto vocab = static_cast<int64_t>(meta.vocab.size());
    std::vector<int64_t> tokens;
    for (int r = 0; r < rows; ++r) tokens.push_back((meta.special.start + r) % vocab);
    std::vector<at::Tensor> out;
    for (int i = 0; i < steps; ++i) {
      auto [log_probs, next] = step(tokens, state);
      state = std::move(next);
      out.push_back(log_probs);
      const at::Tensor best = log_probs.argmax(1).contiguous();
      tokens.assign(best.data_ptr<int64_t>(), best.data_ptr<int64_t>() + rows);
    }
    return torch::cat(out);
  }

  // The native step (native_step.h) for the shipped architecture, kept only when its log-probs stay within
  // its tolerance of the module's step (FP32 1e-4, INT8 0.25: native_step_int8.cpp says why) and pick the
  // same tokens, greedy and over 3 rows; else the module's step runs. `params` are the loaded module's
  // (freeze folds them into the graph). Sets info.decoder.
  void try_native_step(const detail::NamedTensors& params) {
    std::string reason;
    std::unique_ptr<detail::NativeStep> candidate =
        detail::NativeStep::create(params, static_cast<int64_t>(meta.vocab.size()), reason);
    if (!candidate) {
      info.decoder = "TorchScript (no native step: " + reason + ")";
      return;
    }
    float worst = 0.0f;
    reason = compare_probes(native, candidate, candidate->tolerance(), worst);
    if (!reason.empty()) {
      info.decoder = "TorchScript (native step not used: " + reason + ")";
      return;
    }
    char text[48];
    std::snprintf(text, sizeof text, " (verified, max |\u0394| %.1e)", static_cast<double>(worst));
    info.decoder = "native " + candidate->kind() + text;
    native = std::move(candidate);
    info.native_step = true;
  }

  // For INT8, after the native step: the native tail of encode (native_step.h), kept only when encode +
  // the native step with it stay within the step's tolerance of encode through the module + the same step,
  // and pick the same tokens, greedy and over 3 rows. Appends to info.decoder what it did.
  void try_native_encode() {
    std::string reason;
    std::unique_ptr<detail::NativeEncodeTail> candidate = detail::NativeEncodeTail::create(module, reason);
    float worst = 0.0f;
    if (candidate) reason = compare_probes(native_encode, candidate, native->tolerance(), worst);
    if (!reason.empty()) {
      info.decoder += "; encode through TorchScript (native tail not used: " + reason + ")";
      return;
    }
    native_encode = std::move(candidate);
    char text[64];
    std::snprintf(text, sizeof text, "; native encode tail (verified, max |\u0394| %.1e)",
                  static_cast<double>(worst));
    info.decoder += text;
  }

  // Probes (probe_steps: greedy and 3 rows, 6 steps each) without and then with `candidate` in `slot`:
  // "" when they pick the same tokens and their log-probs stay within `tolerance` (the largest difference
  // in `worst`), else why not. `slot` is empty and `candidate` holds the candidate again afterwards.
  template <typename Native>
  std::string compare_probes(std::unique_ptr<Native>& slot, std::unique_ptr<Native>& candidate,
                             float tolerance, float& worst) {
    try {
      for (const int rows : {1, 3}) {
        const at::Tensor reference = probe_steps(rows, 6);
        slot = std::move(candidate);
        at::Tensor got;
        try {
          got = probe_steps(rows, 6);
        } catch (...) {
          candidate = std::move(slot);
          throw;
        }
        candidate = std::move(slot);
        if (!reference.sizes().equals(got.sizes()))
          return "log-probs shaped " + shape_of(got) + " instead of " + shape_of(reference);
        if (!reference.argmax(1).equal(got.argmax(1))) return "it picks other tokens than the module";
        worst = std::max(worst, (reference - got).abs().max().item<float>());
        if (!(worst <= tolerance))
          return "its log-probs differ from the module's by " + std::to_string(worst);
      }
    } catch (const c10::Error& e) {
      return "the trial steps failed: " + torch_message(e);
    }
    return {};
  }

  at::Tensor probe_log_probs(torch::jit::Module& candidate) {
    std::swap(module, candidate);
    at::Tensor out;
    try {
      out = probe_steps(1, 4);
    } catch (...) {
      std::swap(module, candidate);
      throw;
    }
    std::swap(module, candidate);
    return out;
  }

  // torch::jit::freeze + optimize_for_inference fold the weights into the graph and fuse the encoder's
  // convolutions (measured in docs/BENCHMARKS.md: about -18 % per caption). freeze keeps only `forward`
  // unless told otherwise, so encode and step are named. The optimized module is used only when it gives
  // the same log-probs as the loaded one; any failure keeps the loaded module.
  bool try_optimize() {
    try {
      const std::vector<std::string> methods{"encode", "step"};
      torch::jit::Module frozen = torch::jit::freeze(module, methods);
      torch::jit::Module optimized = torch::jit::optimize_for_inference(frozen, methods);
      if (!optimized.find_method("encode") || !optimized.find_method("step")) return false;
      const at::Tensor reference = probe_log_probs(module);
      const at::Tensor candidate = probe_log_probs(optimized);
      if (!reference.sizes().equals(candidate.sizes()) ||
          (reference - candidate).abs().max().item<float>() > 1e-3f) {
        return false;
      }
      module = optimized;
      return true;
    } catch (const c10::Error&) {
      return false;
    }
  }

  // The contract check of docs/MODEL_CONTRACT.md: a model that fails it would caption garbage or crash in
  // the middle of a session, so it is refused at load time with the rule it breaks.
  void verify() {
    const auto vocab = static_cast<int64_t>(meta.vocab.size());
    const std::string prefix = options.path + " breaks the model contract" + kContract + ": ";
    try {
      at::Tensor blank =
          torch::zeros({1, 3, meta.input.height, meta.input.width}, at::kFloat).to(device, input_type);
      State state = encode(blank);
      if (state.empty()) throw ModelError(prefix + "encode returned an empty state dict");
      for (const auto& [key, tensor] : state) {
        if (tensor.dim() < 1 || tensor.size(0) != 1) {
          throw ModelError(prefix + "every state tensor needs the batch on dimension 0; encode's '" + key +
                           "' is " + shape_of(tensor) + " for a batch of 1");
        }
      }
      auto [log_probs, next] = step({meta.special.start}, state);
      if (log_probs.dim() != 2 || log_probs.size(0) != 1) {
        throw ModelError(prefix + "step must return log-probs shaped [1, V] = [1, " + std::to_string(vocab) +
                         "] for one token; got " + shape_of(log_probs));
      }
      if (log_probs.size(1) != vocab) {
        throw ModelError(
            prefix + "step returns " + std::to_string(log_probs.size(1)) +
            " log-probs per row but edgecap.json's vocab has " + std::to_string(vocab) +
            " words (V == len(vocab)); the metadata does not belong to this model, re-export it");
      }
      for (const auto& [key, tensor] : next) {
        if (tensor.dim() < 1 || tensor.size(0) != 1) {
          throw ModelError(prefix + "every state tensor needs the batch on dimension 0; step's '" + key +
                           "' is " + shape_of(tensor) + " for a batch of 1");
        }
      }
    } catch (const c10::Error& e) {
      throw ModelError(prefix + "the trial encode + step on a blank " + std::to_string(meta.input.width) +
                       "x" + std::to_string(meta.input.height) + " image failed: " + torch_message(e));
    }
  }
};

Captioner::Captioner(const LoadOptions& options) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.options = options;
  install_warning_filter();
  check_regular_file(options.path);
  const std::string pre_read = read_metadata_text(options.path);
  if (pre_read.empty()) {
    throw ModelError(options.path + " has no edgecap.json metadata" + kContract +
                     "; re-export it with tools/export.py");
  }
  m.meta = parse_for(options.path, pre_read);
  check_precision(options, m.meta);

  m.info.path = options.path;
  std::error_code ec;
  m.info.file_bytes = fs::file_size(options.path, ec);
  m.info.sha256 = sha256_file(options.path);

  const auto start = Clock::now();
  if (options.precision == Precision::kINT8) m.info.quantized_engine = select_quantized_engine(m.meta);
  m.device = options.device == Device::kCUDA ? c10::Device(c10::kCUDA) : c10::Device(c10::kCPU);
  torch::jit::ExtraFilesMap extra{{kMetadataFile, ""}};
  try {
    m.module = torch::jit::load(options.path, m.device, extra);
  } catch (const c10::Error& e) {
    throw_unloadable(options.path, torch_message(e));
  } catch (const std::exception& e) {
    throw_unloadable(options.path, first_line(e.what()));
  }
  // The metadata read by torch::jit::load is authoritative; it equals the pre-read copy for any sane file.
  if (!extra[kMetadataFile].empty() && extra[kMetadataFile] != pre_read)
    m.meta = parse_for(options.path, extra[kMetadataFile]);

  for (const char* method : {"encode", "step"}) {
    if (!m.module.find_method(method)) {
      throw ModelError(options.path + " breaks the model contract" + kContract + ": it has no '" + method +
                       "' method; export encode and step with @torch.jit.export");
    }
  }
  m.module.eval();
  // The native step needs the loaded parameters; freeze (try_optimize) folds them into the graph.
  detail::NamedTensors params;
  const char* native_env = std::getenv("EDGECAP_NATIVE_STEP");
  const bool native_wanted = options.native_step && !(native_env && std::string(native_env) == "0");
  if (!native_wanted) {
    m.info.decoder =
        options.native_step ? "TorchScript (EDGECAP_NATIVE_STEP=0)" : "TorchScript (native step off)";
  } else if (options.precision != Precision::kFP32 && options.precision != Precision::kINT8) {
    m.info.decoder = "TorchScript (the native step is FP32 and INT8 only)";
  } else if (options.device != Device::kCPU) {
    m.info.decoder = "TorchScript (the native step is CPU only)";
  } else if (m.meta.arch.name != "cnn-attention-lstm") {
    m.info.decoder = "TorchScript (no native step for architecture '" + m.meta.arch.name + "')";
  } else if (options.precision == Precision::kINT8 && m.info.quantized_engine != "onednn") {
    // qnnpack quantizes its inputs its own way (no reduce_range, other rounding): the native step's
    // arithmetic is onednn's, checked against it in tests/inference/int8_linear_test.cpp.
    m.info.decoder = "TorchScript (the native INT8 step follows onednn; this file runs on " +
                     m.info.quantized_engine + ")";
  } else if (options.precision == Precision::kINT8) {
    std::string reason;
    params = detail::unpack_int8_decoder(m.module, reason);
    if (params.empty()) m.info.decoder = "TorchScript (no native step: " + reason + ")";
  } else {
    for (const auto& p : m.module.named_parameters(/*recurse=*/true)) params.emplace(p.name, p.value);
  }
  try {
    if (options.precision == Precision::kBF16) {
      m.module.to(at::kBFloat16);
      m.input_type = at::kBFloat16;
    } else if (options.precision == Precision::kFP16) {
      m.module.to(m.device, at::kHalf);
      m.input_type = at::kHalf;
    }
  } catch (const c10::Error& e) {
    throw ModelError("cannot convert " + options.path + " to " + std::string(to_string(options.precision)) +
                     ": " + torch_message(e) + "; use FP32");
  }
  if (options.verify) {
    c10::InferenceMode guard;
    m.verify();
  }
  if (options.optimize && options.precision == Precision::kFP32 && options.device == Device::kCPU) {
    m.info.optimized = m.try_optimize();
  }
  if (m.info.decoder.empty()) m.try_native_step(params);
  if (m.info.native_step && options.precision == Precision::kINT8) m.try_native_encode();
  m.info.load_ms = ms_since(start);
}

Captioner::~Captioner() = default;

Caption Captioner::caption(const cv::Mat& frame, int beam) {
  Impl& m = *impl_;
  Caption result;
  install_warning_filter();
  c10::InferenceMode guard;
  const auto start = Clock::now();

  const ImageTensor image = preprocess(frame, m.meta.input);
  at::Tensor input = m.input_tensor(image);
  result.times.preprocess_ms = ms_since(start);

  const auto encode_start = Clock::now();
  State state;
  try {
    state = m.encode(input);
  } catch (const c10::Error& e) {
    throw ModelError("encode failed: " + torch_message(e));
  }
  result.times.encode_ms = ms_since(encode_start);

  const auto decode_start = Clock::now();
  StepFunction step_fn = [&](const std::vector<int64_t>& tokens, const std::vector<int64_t>& parents) {
    const auto rows = static_cast<int64_t>(state.empty() ? 0 : state.front().second.size(0));
    bool identity = static_cast<int64_t>(parents.size()) == rows;
    for (std::size_t i = 0; identity && i < parents.size(); ++i)
      identity = parents[i] == static_cast<int64_t>(i);
    if (!identity) {
      // Beam search: row i continues hypothesis parents[i]; copies the state rows the survivors need.
      at::Tensor index = torch::from_blob(const_cast<int64_t*>(parents.data()),
                                          {static_cast<int64_t>(parents.size())}, at::kLong)
                             .to(m.device);
      for (auto& entry : state) entry.second = entry.second.index_select(0, index);
    }
    auto [log_probs, next] = m.step(tokens, state);
    state = std::move(next);
    StepOutput out;
    out.rows = static_cast<int>(log_probs.size(0));
    out.vocab = static_cast<int>(log_probs.size(1));
    out.log_probs.assign(log_probs.data_ptr<float>(), log_probs.data_ptr<float>() + log_probs.numel());
    for (const auto& [key, tensor] : state) {
      if (key != "alpha") continue;
      at::Tensor alpha = tensor.to(at::kFloat).cpu().contiguous().reshape({out.rows, -1});
      out.regions = static_cast<int>(alpha.size(1));
      out.alpha.assign(alpha.data_ptr<float>(), alpha.data_ptr<float>() + alpha.numel());
    }
    return out;
  };
  DecodeOptions options;
  options.start_token = m.meta.special.start;
  options.end_token = m.meta.special.end;
  options.max_length = m.meta.max_caption_length;
  options.beam = std::max(beam, 1);
  // Per-token average, as tools/common.py beam_decode ranks (and the reported BLEU was measured): with a
  // plain sum, beam search prefers the shortest caption and often returns an empty one.
  options.length_penalty = 1.0f;
  Hypothesis hyp;
  try {
    hyp = decode(step_fn, options);
  } catch (const c10::Error& e) {
    throw ModelError("step failed: " + torch_message(e));
  }
  result.times.decode_ms = ms_since(decode_start);
  result.times.total_ms = ms_since(start);

  result.tokens = hyp.tokens;
  result.words = tokens_to_words(hyp.tokens, m.meta);
  result.text = join_words(result.words);
  result.token_log_probs = hyp.token_log_probs;
  result.score = hyp.score;
  result.finished = hyp.finished;
  result.steps = hyp.steps;
  result.grid_h = m.meta.arch.grid_h;
  result.grid_w = m.meta.arch.grid_w;
  const auto regions = static_cast<std::size_t>(result.grid_h) * static_cast<std::size_t>(result.grid_w);
  // Keep the maps only when they fit the grid the heatmap will draw them on.
  if (regions > 0 && !hyp.alphas.empty() && hyp.alphas.front().size() == regions)
    result.attention = hyp.alphas;
  return result;
}

const ModelMetadata& Captioner::metadata() const { return impl_->meta; }
const LoadInfo& Captioner::load_info() const { return impl_->info; }
Precision Captioner::precision() const { return impl_->options.precision; }
Device Captioner::device() const { return impl_->options.device; }

ModelMetadata read_model_metadata(const std::string& path) {
  check_regular_file(path);
  const std::string text = read_metadata_text(path);
  if (text.empty()) {
    throw ModelError(path + " has no edgecap.json metadata" + std::string(kContract) +
                     "; re-export it with tools/export.py");
  }
  return parse_for(path, text);
}

RuntimeInfo runtime_info() {
  RuntimeInfo info;
  info.torch_version = TORCH_VERSION;
  info.cuda_available = detail::cuda_available();
  info.intra_op_threads = at::get_num_threads();
  info.inter_op_threads = at::get_num_interop_threads();
  info.quantized_engines = detail::quantized_engines();
  info.parallel_info = at::get_parallel_info();
  return info;
}

int default_thread_count() {
  // docs/BENCHMARKS.md "Threads and BLAS": on 2 cores a second intra-op thread made every caption 20-200x
  // slower (the operators are too small to split and the barrier waits for a core that is busy).
  const int cores = std::max(1, physical_cores());
  return cores <= 2 ? 1 : cores;
}

void configure_threads(int threads) {
  // Captioning is one image at a time; a second pool of inter-op threads would only compete with the
  // intra-op ones for two cores. LibTorch allows setting it once, before any inter-op work.
  static std::once_flag interop_once;
  std::call_once(interop_once, [] {
    try {
      at::set_num_interop_threads(1);
    } catch (const c10::Error&) {
      // Already started by someone else: keep whatever is in force.
    }
  });
  const int n = threads > 0 ? threads : default_thread_count();
  at::set_num_threads(n);
  // OpenBLAS keeps a pool of its own, one thread per core unless OPENBLAS_NUM_THREADS says otherwise, and
  // the native FP32 step's gemv calls go to it: on 2 cores with one busy, its second thread made every
  // decoder step ~12x slower (0.78 vs 0.065 ms, docs/BENCHMARKS.md "Threads and BLAS"). It gets the
  // intra-op count too, unless the user set OPENBLAS_NUM_THREADS.
  if (!std::getenv("OPENBLAS_NUM_THREADS")) set_blas_threads(n);
}

}  // namespace edgecap
