#include "edgecap/speaker.h"

#include <SDL2/SDL.h>
#include <SDL2/SDL_mixer.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "edgecap/error.h"

namespace edgecap {
namespace {

// SDL's audio subsystem for the lifetime of one Speaker (SDL reference-counts subsystem inits).
class SdlAudio {
 public:
  SdlAudio() {
    // The app restores the terminal on SIGINT/SIGTERM itself; SDL must not take those signals over.
    SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
    if (SDL_InitSubSystem(SDL_INIT_AUDIO) != 0) throw std::runtime_error(SDL_GetError());
  }
  ~SdlAudio() { SDL_QuitSubSystem(SDL_INIT_AUDIO); }
  SdlAudio(const SdlAudio&) = delete;
  SdlAudio& operator=(const SdlAudio&) = delete;
};

// The mixer's output device, opened at exactly the synthesis format (mono S16 at espeak-ng's rate):
// allowed_changes = 0 makes SDL convert to whatever the hardware wants, so chunks are raw espeak PCM.
class MixerDevice {
 public:
  explicit MixerDevice(int sample_rate) {
    if (Mix_OpenAudioDevice(sample_rate, AUDIO_S16SYS, 1, 1024, nullptr, 0) != 0) {
      throw std::runtime_error(Mix_GetError());
    }
  }
  ~MixerDevice() { Mix_CloseAudio(); }
  MixerDevice(const MixerDevice&) = delete;
  MixerDevice& operator=(const MixerDevice&) = delete;
};

struct ChunkDeleter {
  void operator()(Mix_Chunk* chunk) const { Mix_FreeChunk(chunk); }
};
using ChunkPtr = std::unique_ptr<Mix_Chunk, ChunkDeleter>;

struct Job {
  std::string text;
  bool replay = false;
};

}  // namespace

struct Speaker::Impl {
  SpeakerOptions options;
  std::unique_ptr<Synthesizer> synthesizer;
  std::unique_ptr<SdlAudio> sdl;  // destroyed after the mixer (members die in reverse order)
  std::unique_ptr<MixerDevice> mixer;
  std::string status;

  mutable std::mutex mutex;
  std::condition_variable wake;
  std::condition_variable idle;
  std::optional<Job> pending;  // one slot: a newer caption replaces one not yet spoken
  bool working = false;
  bool stop = false;
  int syntheses = 0;
  std::shared_ptr<const Pcm> cached;  // the last caption's audio; the chunk plays straight from it
  std::string cached_text;
  std::function<void(const SpeechEvent&)> callback;

  ChunkPtr chunk;  // worker thread only; must die before `cached` frees the buffer it points into
  std::thread worker;

  void run();
  void speak(const Job& job);
  bool playing() const { return mixer && Mix_Playing(-1) > 0; }
};

Speaker::Speaker(const SpeakerOptions& options) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.options = options;
  if (!options.enabled) {
    s.status = "off (--no-speech)";
    return;
  }
  if (!options.wav_path.empty()) {
    // Fail now, not after the first caption: the user asked for this file explicitly.
    std::ofstream probe(options.wav_path, std::ios::binary | std::ios::app);
    if (!probe) {
      throw AudioError(fmt::format("cannot write --wav file {}: {}. Choose a writable path", options.wav_path,
                                   std::strerror(errno)));
    }
  }
  try {
    s.synthesizer = std::make_unique<Synthesizer>(options.voice, options.rate_wpm);
  } catch (const AudioError& e) {
    s.status = fmt::format("speech off: {}; captions still print", e.what());
    return;
  }
  const std::string wav_note =
      options.wav_path.empty() ? "" : fmt::format(", also writing {}", options.wav_path);
  try {
    s.sdl = std::make_unique<SdlAudio>();
    s.mixer = std::make_unique<MixerDevice>(s.synthesizer->sample_rate());
    const char* driver = SDL_GetCurrentAudioDriver();
    s.status =
        fmt::format("SDL2_mixer {} @ {} Hz{}", driver ? driver : "?", s.synthesizer->sample_rate(), wav_note);
  } catch (const std::runtime_error& e) {
    s.mixer.reset();
    s.sdl.reset();
    s.status =
        options.wav_path.empty()
            ? fmt::format("no audio device (SDL: {}); captions still print; use --wav FILE to keep the audio",
                          e.what())
            : fmt::format("no audio device (SDL: {}); captions still print{}", e.what(), wav_note);
  }
  s.worker = std::thread([&s] { s.run(); });
}

Speaker::~Speaker() {
  Impl& s = *impl_;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.stop = true;
  }
  s.wake.notify_all();
  if (s.worker.joinable()) s.worker.join();
  if (s.mixer) Mix_HaltChannel(-1);
  s.chunk.reset();
  s.mixer.reset();
  s.sdl.reset();
}

void Speaker::Impl::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex);
      wake.wait(lock, [this] { return stop || pending.has_value(); });
      if (stop) return;
      job = std::move(*pending);
      pending.reset();
      working = true;
    }
    speak(job);
    {
      std::lock_guard<std::mutex> lock(mutex);
      working = false;
    }
    idle.notify_all();
  }
}

void Speaker::Impl::speak(const Job& job) {
  SpeechEvent event;
  event.replay = job.replay;
  std::shared_ptr<const Pcm> pcm;
  if (job.replay) {
    std::lock_guard<std::mutex> lock(mutex);
    pcm = cached;
    event.text = cached_text;
  } else {
    const auto start = std::chrono::steady_clock::now();
    auto fresh = std::make_shared<Pcm>(synthesizer->synthesize(job.text));
    event.synth_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    event.text = job.text;
    pcm = fresh;
    if (mixer) Mix_HaltChannel(-1);  // the previous caption is stale now; and its chunk is about to go
    chunk.reset();
    std::lock_guard<std::mutex> lock(mutex);
    ++syntheses;
    cached = fresh;
    cached_text = job.text;
  }
  if (!pcm) return;
  event.audio_s = pcm->duration_s();
  event.first_sample = std::chrono::steady_clock::now();
  if (mixer && !pcm->samples.empty()) {
    Mix_HaltChannel(-1);
    if (!chunk) {
      // QuickLoad does not copy: the cached Pcm keeps the samples alive for as long as the chunk exists.
      chunk.reset(Mix_QuickLoad_RAW(reinterpret_cast<Uint8*>(const_cast<int16_t*>(pcm->samples.data())),
                                    Uint32(pcm->samples.size() * sizeof(int16_t))));
    }
    event.first_sample = std::chrono::steady_clock::now();
    if (chunk) Mix_PlayChannel(-1, chunk.get(), 0);
  }
  if (!job.replay && !options.wav_path.empty()) {
    try {
      write_wav(options.wav_path, *pcm);
    } catch (const AudioError& e) {
      std::lock_guard<std::mutex> lock(mutex);
      status = fmt::format("{} (last WAV write failed: {})", status, e.what());
    }
  }
  std::function<void(const SpeechEvent&)> notify;
  {
    std::lock_guard<std::mutex> lock(mutex);
    notify = callback;
  }
  if (notify) notify(event);
}

void Speaker::say(const std::string& text) {
  Impl& s = *impl_;
  if (!s.synthesizer) return;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.pending = Job{text, false};
  }
  s.wake.notify_one();
}

bool Speaker::replay() {
  Impl& s = *impl_;
  if (!s.synthesizer) return false;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.pending) return true;  // a newer caption is about to play anyway
    if (!s.cached) return false;
    s.pending = Job{"", true};
  }
  s.wake.notify_one();
  return true;
}

void Speaker::set_rate(int wpm) {
  if (impl_->synthesizer) impl_->synthesizer->set_rate(wpm);
  impl_->options.rate_wpm = wpm;
}

int Speaker::rate() const {
  return impl_->synthesizer ? impl_->synthesizer->rate() : impl_->options.rate_wpm;
}

bool Speaker::busy() const {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->working || impl_->pending) return true;
  }
  return impl_->playing();
}

void Speaker::wait_idle(std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    if (!s.idle.wait_until(lock, deadline, [&s] { return !s.working && !s.pending; })) return;
  }
  // SDL_mixer has no "channel finished" wait that is safe to use here; poll what is left of playback.
  while (s.playing() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int Speaker::syntheses() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->syntheses;
}

std::string Speaker::status() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->status;
}

void Speaker::on_spoken(std::function<void(const SpeechEvent&)> callback) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->callback = std::move(callback);
}

}  // namespace edgecap
