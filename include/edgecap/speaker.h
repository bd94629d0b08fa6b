#pragma once
// Speech: espeak-ng synthesises PCM in memory, SDL2_mixer plays it at the synthesis rate. Synthesis and
// playback run on a worker thread, so the key loop and the preview never wait for them.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace edgecap {

struct Pcm {
  int sample_rate = 0;  // Hz, mono
  std::vector<int16_t> samples;
  double duration_s() const { return sample_rate ? double(samples.size()) / sample_rate : 0.0; }
};

// espeak-ng in synchronous mode (AUDIO_OUTPUT_SYNCHRONOUS). espeak-ng is one process-wide C library:
// it is initialised once for the process, every synthesis holds one lock, and each Synthesizer applies its
// own voice and rate under that lock. Throws AudioError when espeak-ng's data or the voice cannot be found.
class Synthesizer {
 public:
  explicit Synthesizer(const std::string& voice = "en", int rate_wpm = 165);
  ~Synthesizer();
  Synthesizer(const Synthesizer&) = delete;
  Synthesizer& operator=(const Synthesizer&) = delete;
  // Empty samples for text with nothing to say (empty, only punctuation). Control characters and invalid
  // UTF-8 are replaced, text beyond kMaxChars is cut at a word boundary. Thread-safe.
  Pcm synthesize(const std::string& text);
  void set_rate(int wpm);  // clamped to espeak-ng's 80..450; thread-safe
  int rate() const;
  int sample_rate() const;
  static constexpr std::size_t kMaxChars = 1000;

 private:
  std::string voice_;
  std::atomic<int> rate_wpm_;
  int sample_rate_ = 0;
};

void write_wav(const std::string& path, const Pcm& pcm);  // 16-bit mono PCM WAV; throws AudioError
Pcm read_wav(const std::string& path);                    // for tests and tools; throws AudioError

struct SpeakerOptions {
  bool enabled = true;  // false: no synthesis, no audio (captions still print)
  std::string voice = "en";
  int rate_wpm = 165;
  std::string wav_path;  // non-empty: also write each utterance here (the latest one); the
                         // Speaker constructor throws AudioError when it cannot be written
};

struct SpeechEvent {
  std::string text;
  double synth_ms = 0;                                 // synthesis time
  std::chrono::steady_clock::time_point first_sample;  // when playback (or the WAV write) started
  double audio_s = 0;                                  // length of the audio
  bool replay = false;
};

class Speaker {
 public:
  explicit Speaker(const SpeakerOptions& options);
  ~Speaker();  // stops playback, joins the worker, closes the audio device
  Speaker(const Speaker&) = delete;
  Speaker& operator=(const Speaker&) = delete;

  void say(const std::string& text);  // queue: synthesise, cache, play (replaces anything queued)
  bool replay();                      // play the cached audio of the last caption; false if none
  void set_rate(int wpm);
  int rate() const;
  bool busy() const;                                  // synthesising or playing
  void wait_idle(std::chrono::milliseconds timeout);  // for tests and for quitting after one caption
  int syntheses() const;                              // utterances synthesised so far (replays do not count)
  // One line for the start-up banner, e.g. "SDL2_mixer pulseaudio @ 22050 Hz", "off (--no-speech)",
  // "no audio device (SDL: <why>); captions still print; use --wav FILE to keep the audio",
  // "speech off: espeak-ng could not start: ...". Without a device the speaker still synthesises (timings,
  // --wav) and on_spoken still fires; first_sample is then the moment the WAV write started.
  std::string status() const;
  void on_spoken(std::function<void(const SpeechEvent&)> callback);  // called on the worker thread

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgecap
