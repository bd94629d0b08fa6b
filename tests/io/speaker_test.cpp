#include "edgecap/speaker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <thread>

#include "edgecap/error.h"

namespace fs = std::filesystem;
using ::testing::HasSubstr;

namespace edgecap {
namespace {

double rms(const std::vector<int16_t>& samples) {
  if (samples.empty()) return 0.0;
  double sum = 0.0;
  for (int16_t s : samples) sum += double(s) * double(s);
  return std::sqrt(sum / double(samples.size()));
}

// Speech at a normal level sits in the thousands; silence and dither stay far below this.
constexpr double kSpeechRmsFloor = 300.0;

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("edgecap_speech_" + std::to_string(::getpid()) + "_" + name);
}

// Collects on_spoken events across the worker thread.
struct Events {
  std::mutex mutex;
  std::vector<SpeechEvent> list;
  void attach(Speaker& speaker) {
    speaker.on_spoken([this](const SpeechEvent& e) {
      std::lock_guard<std::mutex> lock(mutex);
      list.push_back(e);
    });
  }
  std::vector<SpeechEvent> snapshot() {
    std::lock_guard<std::mutex> lock(mutex);
    return list;
  }
};

constexpr std::chrono::seconds kGenerous{60};  // a bound for a broken worker, not a performance limit

TEST(Synthesizer, TypicalCaptionIsAudibleSpeechOfPlausibleLength) {
  Synthesizer synth("en", 165);
  ASSERT_GT(synth.sample_rate(), 8000);
  const auto start = std::chrono::steady_clock::now();
  const Pcm pcm = synth.synthesize("a dog on the grass");
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[ measured ] 'a dog on the grass' at 165 wpm: " << pcm.duration_s() << " s of audio at "
            << pcm.sample_rate << " Hz, synthesised in " << ms << " ms\n";
  EXPECT_EQ(pcm.sample_rate, synth.sample_rate());
  EXPECT_GT(pcm.duration_s(), 0.8);
  EXPECT_LT(pcm.duration_s(), 4.0);
  EXPECT_GT(rms(pcm.samples), kSpeechRmsFloor);
}

TEST(Synthesizer, LongerTextGivesLongerAudio) {
  Synthesizer synth;
  const Pcm short_pcm = synth.synthesize("a dog");
  const Pcm long_pcm =
      synth.synthesize("a brown dog runs across the green grass next to a red ball in the park");
  EXPECT_GT(long_pcm.duration_s(), 2.0 * short_pcm.duration_s());
}

TEST(Synthesizer, RateChangesDuration) {
  Synthesizer synth("en", 165);
  synth.set_rate(100);
  EXPECT_EQ(synth.rate(), 100);
  const Pcm slow = synth.synthesize("a cat sitting on a wooden table");
  synth.set_rate(300);
  const Pcm fast = synth.synthesize("a cat sitting on a wooden table");
  EXPECT_GT(slow.duration_s(), 1.5 * fast.duration_s());
  synth.set_rate(10);
  EXPECT_EQ(synth.rate(), 80);
  synth.set_rate(10000);
  EXPECT_EQ(synth.rate(), 450);
}

TEST(Synthesizer, NothingToSayGivesEmptyPcm) {
  Synthesizer synth;
  EXPECT_TRUE(synth.synthesize("").samples.empty());
  EXPECT_TRUE(synth.synthesize("   ").samples.empty());
  EXPECT_TRUE(synth.synthesize("?!... ,;").samples.empty());
  EXPECT_TRUE(synth.synthesize("\n\t\r").samples.empty());
}

TEST(Synthesizer, AwkwardTextNeverCrashes) {
  Synthesizer synth;
  EXPECT_GT(synth.synthesize("caf\xc3\xa9 na\xc3\xafve \xe7\x8a\xac").duration_s(), 0.1);  // UTF-8
  EXPECT_GT(synth.synthesize("dog \xff\xfe\xc3 cat").duration_s(), 0.1);                   // invalid UTF-8
  EXPECT_GT(synth.synthesize("a <b>dog</b> & [cat] \x01\x02").duration_s(), 0.1);
  std::string very_long;
  for (int i = 0; i < 2000; ++i) very_long += "dog ";
  const Pcm capped = synth.synthesize(very_long);
  EXPECT_GT(capped.duration_s(), 1.0);
  // kMaxChars of "dog " is 250 words: at 165 wpm about 90 s, never the 12 minutes 2000 words would take.
  EXPECT_LT(capped.duration_s(), 200.0);
}

TEST(Synthesizer, UnknownVoiceIsAnAudioError) { EXPECT_THROW(Synthesizer("no-such-voice-xx"), AudioError); }

TEST(Synthesizer, TwoSynthesizersKeepTheirOwnRate) {
  Synthesizer slow("en", 90);
  Synthesizer fast("en", 400);
  const double slow_s = slow.synthesize("a red car on the road").duration_s();
  const double fast_s = fast.synthesize("a red car on the road").duration_s();
  EXPECT_GT(slow.synthesize("a red car on the road").duration_s(), 1.5 * fast_s);
  EXPECT_GT(slow_s, 1.5 * fast_s);
}

TEST(Wav, RoundTrip) {
  Pcm pcm;
  pcm.sample_rate = 22050;
  for (int i = 0; i < 1001; ++i) pcm.samples.push_back(int16_t((i * 97) % 65536 - 32768));
  const fs::path path = temp_path("round.wav");
  write_wav(path.string(), pcm);
  EXPECT_EQ(fs::file_size(path), 44u + 2u * 1001u);
  const Pcm back = read_wav(path.string());
  EXPECT_EQ(back.sample_rate, 22050);
  EXPECT_EQ(back.samples, pcm.samples);
  fs::remove(path);
}

TEST(Wav, BadFilesAreAudioErrors) {
  Pcm pcm;
  pcm.sample_rate = 16000;
  EXPECT_THROW(write_wav("/nonexistent-dir/x.wav", pcm), AudioError);
  const fs::path junk = temp_path("junk.wav");
  std::ofstream(junk) << "not a wav file at all";
  EXPECT_THROW(read_wav(junk.string()), AudioError);
  EXPECT_THROW(read_wav(temp_path("missing.wav").string()), AudioError);
  fs::remove(junk);
}

TEST(Speaker, DiskDriverReceivesTheSpeech) {
  const fs::path raw = temp_path("disk.raw");
  setenv("SDL_AUDIODRIVER", "disk", 1);
  setenv("SDL_DISKAUDIOFILE", raw.string().c_str(), 1);
  Events events;
  {
    Speaker speaker(SpeakerOptions{});
    EXPECT_THAT(speaker.status(), HasSubstr("disk"));
    events.attach(speaker);
    speaker.say("a dog on the grass");
    speaker.wait_idle(kGenerous);
    EXPECT_FALSE(speaker.busy());
  }  // closing the device flushes the file
  const auto got = events.snapshot();
  ASSERT_EQ(got.size(), 1u);
  // The device format is exactly the synthesis format (mono S16), so the file is the PCM as played.
  std::ifstream in(raw, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<int16_t> samples(bytes.size() / 2);
  std::memcpy(samples.data(), bytes.data(), samples.size() * 2);
  const double file_s = double(samples.size()) / 22050.0;
  EXPECT_GT(file_s, 0.8 * got[0].audio_s);
  EXPECT_GT(rms(samples), kSpeechRmsFloor / 2);  // the tail of the file is the device's silence
  fs::remove(raw);
  unsetenv("SDL_DISKAUDIOFILE");
}

TEST(Speaker, DummyDriverSpeaksReportsAndReplaysWithoutResynthesis) {
  setenv("SDL_AUDIODRIVER", "dummy", 1);
  Speaker speaker(SpeakerOptions{});
  EXPECT_THAT(speaker.status(), HasSubstr("dummy"));
  EXPECT_FALSE(speaker.replay());  // nothing cached yet
  Events events;
  events.attach(speaker);
  const auto asked = std::chrono::steady_clock::now();
  speaker.say("a cat on a sofa");
  speaker.wait_idle(kGenerous);
  ASSERT_TRUE(speaker.replay());
  speaker.wait_idle(kGenerous);
  const auto got = events.snapshot();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_FALSE(got[0].replay);
  EXPECT_EQ(got[0].text, "a cat on a sofa");
  EXPECT_GT(got[0].synth_ms, 0.0);
  EXPECT_GT(got[0].audio_s, 0.5);
  EXPECT_GE(got[0].first_sample, asked);
  EXPECT_TRUE(got[1].replay);
  EXPECT_EQ(got[1].text, "a cat on a sofa");
  EXPECT_EQ(got[1].synth_ms, 0.0);
  EXPECT_DOUBLE_EQ(got[1].audio_s, got[0].audio_s);
  EXPECT_GT(got[1].first_sample, got[0].first_sample);
  EXPECT_EQ(speaker.syntheses(), 1);
}

TEST(Speaker, NoAudioDeviceStillWritesTheWav) {
  setenv("SDL_AUDIODRIVER", "no-such-driver", 1);
  const fs::path wav = temp_path("nodevice.wav");
  SpeakerOptions options;
  options.wav_path = wav.string();
  Events events;
  {
    Speaker speaker(options);
    EXPECT_THAT(speaker.status(), HasSubstr("no audio device"));
    EXPECT_THAT(speaker.status(), HasSubstr("captions still print"));
    events.attach(speaker);
    speaker.say("a bird in the sky");
    speaker.wait_idle(kGenerous);
  }
  const auto got = events.snapshot();
  ASSERT_EQ(got.size(), 1u);
  const Pcm written = read_wav(wav.string());
  EXPECT_DOUBLE_EQ(written.duration_s(), got[0].audio_s);
  EXPECT_GT(rms(written.samples), kSpeechRmsFloor);
  fs::remove(wav);
  setenv("SDL_AUDIODRIVER", "dummy", 1);
}

TEST(Speaker, UnwritableWavIsAnAudioErrorAtStart) {
  SpeakerOptions options;
  options.wav_path = "/nonexistent-dir/out.wav";
  try {
    Speaker speaker(options);
    FAIL() << "expected AudioError";
  } catch (const AudioError& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent-dir/out.wav"));
    EXPECT_EQ(e.code(), ExitCode::kAudio);
  }
}

TEST(Speaker, NewCaptionReplacesTheOneStillQueued) {
  setenv("SDL_AUDIODRIVER", "dummy", 1);
  Speaker speaker(SpeakerOptions{});
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::mutex mutex;
  std::vector<std::string> spoken;
  speaker.on_spoken([&](const SpeechEvent& e) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      spoken.push_back(e.text);
    }
    released.wait();  // hold the worker so the next two captions meet in the queue
  });
  speaker.say("one");
  for (int i = 0; i < 6000 && speaker.syntheses() < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(speaker.syntheses(), 1);
  speaker.say("two");
  speaker.say("three");
  EXPECT_TRUE(speaker.busy());
  release.set_value();
  speaker.wait_idle(kGenerous);
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(spoken, (std::vector<std::string>{"one", "three"}));
  EXPECT_EQ(speaker.syntheses(), 2);
}

TEST(Speaker, PunctuationOnlyCaptionIsHarmless) {
  setenv("SDL_AUDIODRIVER", "dummy", 1);
  Speaker speaker(SpeakerOptions{});
  Events events;
  events.attach(speaker);
  speaker.say("...");
  speaker.wait_idle(kGenerous);
  const auto got = events.snapshot();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].audio_s, 0.0);
  EXPECT_TRUE(speaker.replay());  // replays nothing, but does not crash
  speaker.wait_idle(kGenerous);
}

TEST(Speaker, DisabledSpeakerDoesNothing) {
  SpeakerOptions options;
  options.enabled = false;
  Speaker speaker(options);
  EXPECT_THAT(speaker.status(), HasSubstr("off"));
  speaker.say("a dog");
  EXPECT_FALSE(speaker.busy());
  EXPECT_FALSE(speaker.replay());
  EXPECT_EQ(speaker.syntheses(), 0);
}

TEST(Speaker, RateIsForwarded) {
  setenv("SDL_AUDIODRIVER", "dummy", 1);
  Speaker speaker(SpeakerOptions{});
  speaker.set_rate(200);
  EXPECT_EQ(speaker.rate(), 200);
  speaker.set_rate(5);
  EXPECT_EQ(speaker.rate(), 80);
}

}  // namespace
}  // namespace edgecap
