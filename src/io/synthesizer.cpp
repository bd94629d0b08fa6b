#include <espeak-ng/speak_lib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>

#include <fmt/format.h>

#include "edgecap/error.h"
#include "edgecap/speaker.h"

namespace edgecap {
namespace {

int clamp_rate(int wpm) { return std::clamp(wpm, int(espeakRATE_MINIMUM), int(espeakRATE_MAXIMUM)); }

int collect_samples(short* wav, int count, espeak_EVENT* events) {
  auto* out = static_cast<std::vector<int16_t>*>(events->user_data);
  if (wav && count > 0 && out) out->insert(out->end(), wav, wav + count);
  return 0;  // continue synthesis
}

// espeak-ng keeps global state, so the process has one engine: initialised on first use (a failed
// initialisation is retried by the next caller) and terminated once at exit.
class EspeakEngine {
 public:
  static EspeakEngine& instance() {
    static EspeakEngine engine;
    return engine;
  }
  ~EspeakEngine() { espeak_Terminate(); }
  std::mutex& mutex() { return mutex_; }
  int sample_rate() const { return sample_rate_; }

 private:
  EspeakEngine() {
    // DONT_EXIT: without it espeak-ng calls exit() when its data is missing.
    sample_rate_ = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nullptr, espeakINITIALIZE_DONT_EXIT);
    if (sample_rate_ <= 0) {
      throw AudioError(
          "espeak-ng could not start: its data was not found (install the espeak-ng-data package, or set "
          "ESPEAK_DATA_PATH to the folder that holds espeak-ng-data). Use --no-speech to run without speech");
    }
    espeak_SetSynthCallback(&collect_samples);
  }
  std::mutex mutex_;
  int sample_rate_ = 0;
};

// Keeps what espeak-ng can pronounce: valid UTF-8 without control characters, at most `limit` bytes
// (cut at a space). Returns "" when nothing in it is a letter or digit.
std::string speakable(const std::string& text, std::size_t limit) {
  std::string out;
  out.reserve(std::min(text.size(), limit));
  bool has_word = false;
  bool truncated = false;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool valid = length > 0 && i + length <= text.size();
    for (std::size_t k = 1; valid && k < length; ++k)
      valid = (static_cast<unsigned char>(text[i + k]) >> 6) == 0x2;
    if (!valid) {
      out += ' ';
      ++i;
      continue;
    }
    if (out.size() + length > limit) {
      truncated = true;
      break;
    }
    if (length == 1) {
      out += std::iscntrl(c) ? ' ' : char(c);
      has_word = has_word || std::isalnum(c);
    } else {
      out.append(text, i, length);
      has_word = true;  // a letter of another script: espeak-ng spells or names it
    }
    i += length;
  }
  if (truncated) {  // do not end on half a word
    const auto space = out.rfind(' ');
    if (space != std::string::npos && space > limit / 2) out.resize(space);
  }
  return has_word ? out : std::string();
}

void put_u32(std::ofstream& out, uint32_t v) {
  const char bytes[4] = {char(v), char(v >> 8), char(v >> 16), char(v >> 24)};
  out.write(bytes, 4);
}
void put_u16(std::ofstream& out, uint16_t v) {
  const char bytes[2] = {char(v), char(v >> 8)};
  out.write(bytes, 2);
}
uint32_t get_u32(const unsigned char* p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) | (uint32_t(p[3]) << 24);
}
uint16_t get_u16(const unsigned char* p) { return uint16_t(p[0] | (p[1] << 8)); }

}  // namespace

Synthesizer::Synthesizer(const std::string& voice, int rate_wpm)
    : voice_(voice), rate_wpm_(clamp_rate(rate_wpm)) {
  EspeakEngine& engine = EspeakEngine::instance();
  std::lock_guard<std::mutex> lock(engine.mutex());
  if (espeak_SetVoiceByName(voice_.c_str()) != EE_OK) {
    throw AudioError(
        fmt::format("espeak-ng has no voice '{}' (espeak-ng --voices lists them); try --voice en", voice_));
  }
  sample_rate_ = engine.sample_rate();
}

// The engine outlives every Synthesizer; it is terminated once, at exit.
Synthesizer::~Synthesizer() = default;

Pcm Synthesizer::synthesize(const std::string& text) {
  Pcm pcm;
  pcm.sample_rate = sample_rate_;
  const std::string words = speakable(text, kMaxChars);
  if (words.empty()) return pcm;
  EspeakEngine& engine = EspeakEngine::instance();
  std::lock_guard<std::mutex> lock(engine.mutex());
  // Another Synthesizer may have changed the global voice or rate since this one last spoke.
  espeak_SetVoiceByName(voice_.c_str());
  espeak_SetParameter(espeakRATE, rate_wpm_.load(), 0);
  const espeak_ERROR result = espeak_Synth(words.c_str(), words.size() + 1, 0, POS_CHARACTER, 0,
                                           espeakCHARS_UTF8, nullptr, &pcm.samples);
  if (result != EE_OK) pcm.samples.clear();  // nothing half-spoken
  return pcm;
}

void Synthesizer::set_rate(int wpm) { rate_wpm_ = clamp_rate(wpm); }
int Synthesizer::rate() const { return rate_wpm_.load(); }
int Synthesizer::sample_rate() const { return sample_rate_; }

void write_wav(const std::string& path, const Pcm& pcm) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    throw AudioError(fmt::format("cannot write WAV file {}: {}. Choose a writable path for --wav", path,
                                 std::strerror(errno)));
  }
  const auto data_bytes = uint32_t(pcm.samples.size() * sizeof(int16_t));
  out.write("RIFF", 4);
  put_u32(out, 36 + data_bytes);
  out.write("WAVEfmt ", 8);
  put_u32(out, 16);  // fmt chunk size
  put_u16(out, 1);   // PCM
  put_u16(out, 1);   // mono
  put_u32(out, uint32_t(pcm.sample_rate));
  put_u32(out, uint32_t(pcm.sample_rate) * 2);  // byte rate
  put_u16(out, 2);                              // block align
  put_u16(out, 16);                             // bits per sample
  out.write("data", 4);
  put_u32(out, data_bytes);
  for (int16_t sample : pcm.samples) put_u16(out, uint16_t(sample));
  out.flush();
  if (!out) throw AudioError(fmt::format("writing WAV file {} failed (disk full?)", path));
}

Pcm read_wav(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw AudioError(fmt::format("cannot open WAV file {}", path));
  const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)),
                                         std::istreambuf_iterator<char>());
  if (bytes.size() < 12 || std::memcmp(bytes.data(), "RIFF", 4) != 0 ||
      std::memcmp(bytes.data() + 8, "WAVE", 4) != 0) {
    throw AudioError(fmt::format("{} is not a RIFF/WAVE file", path));
  }
  Pcm pcm;
  bool have_format = false;
  for (std::size_t at = 12; at + 8 <= bytes.size();) {
    const uint32_t size = get_u32(&bytes[at + 4]);
    const unsigned char* body = &bytes[at + 8];
    if (at + 8 + size > bytes.size())
      throw AudioError(fmt::format("{}: chunk runs past the end of the file", path));
    if (std::memcmp(&bytes[at], "fmt ", 4) == 0 && size >= 16) {
      if (get_u16(body) != 1 || get_u16(body + 2) != 1 || get_u16(body + 14) != 16) {
        throw AudioError(fmt::format("{}: only 16-bit mono PCM is supported", path));
      }
      pcm.sample_rate = int(get_u32(body + 4));
      have_format = true;
    } else if (std::memcmp(&bytes[at], "data", 4) == 0) {
      if (!have_format) throw AudioError(fmt::format("{}: data chunk before fmt chunk", path));
      pcm.samples.resize(size / 2);
      for (std::size_t i = 0; i < pcm.samples.size(); ++i) pcm.samples[i] = int16_t(get_u16(body + 2 * i));
      return pcm;
    }
    at += 8 + size + (size & 1);  // chunks are padded to even sizes
  }
  throw AudioError(fmt::format("{}: no audio data", path));
}

}  // namespace edgecap
