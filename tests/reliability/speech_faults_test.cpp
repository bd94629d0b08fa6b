// Fault matrix, speech rows: no audio device and text espeak-ng cannot say. Speech is never required for
// captioning: without a device the captions still print (and --wav still writes); odd text gives silence
// or some audio, never a crash or a stuck worker.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "edgecap/error.h"
#include "edgecap/speaker.h"
#include "../support/temp_dir.h"

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

namespace {

using edgecap::test_support::TempDir;

// Texts a caption could never be but a broken model or vocabulary could produce.
std::vector<std::string> awkward_texts() {
  return {"",
          "   \t\n ",
          std::string("\x01\x02\x03\x1b[31m", 9),
          "\xff\xfe\xc3\x28 invalid utf-8 \xe2\x82",
          "!!! ??? ... ,,,",
          "<unk> <unk> <pad> <end>",
          "\xf0\x9f\x90\xb6 \xe2\x9d\xa4",  // emoji
          std::string(5000, 'a'),           // one 5000-letter "word"
          std::string("a dog\0hidden", 12)};
}

TEST(SpeechFaults, NoAudioDeviceIsReportedAndSpeakingStillReturns) {
  setenv("SDL_AUDIODRIVER", "nonexistent", 1);
  edgecap::SpeakerOptions options;
  std::unique_ptr<edgecap::Speaker> speaker;
  ASSERT_NO_THROW(speaker = std::make_unique<edgecap::Speaker>(options))
      << "a missing audio device must not stop the app";
  EXPECT_THAT(speaker->status(), HasSubstr("no audio device"));
  speaker->say("a dog on the grass");
  speaker->wait_idle(30s);
  EXPECT_FALSE(speaker->busy());
  speaker->replay();
  speaker->wait_idle(30s);
  EXPECT_FALSE(speaker->busy());
}

TEST(SpeechFaults, NoAudioDeviceStillWritesTheWav) {
  setenv("SDL_AUDIODRIVER", "nonexistent", 1);
  TempDir dir;
  edgecap::SpeakerOptions options;
  options.wav_path = (dir.path() / "caption.wav").string();
  edgecap::Speaker speaker(options);
  speaker.say("two red cars");
  speaker.wait_idle(30s);
  ASSERT_TRUE(fs::exists(options.wav_path)) << "--wav works without a sound card";
  const edgecap::Pcm pcm = edgecap::read_wav(options.wav_path);
  EXPECT_GT(pcm.samples.size(), 1000u);
}

TEST(SpeechFaults, UnwritableWavIsAnAudioErrorOrAStatusNotACrash) {
  setenv("SDL_AUDIODRIVER", "dummy", 1);
  edgecap::SpeakerOptions options;
  options.wav_path = "/nonexistent/dir/caption.wav";
  try {
    edgecap::Speaker speaker(options);
    speaker.say("a cat");
    speaker.wait_idle(30s);
    EXPECT_FALSE(speaker.busy());
  } catch (const edgecap::AudioError& e) {
    EXPECT_EQ(e.code(), edgecap::ExitCode::kAudio);
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/dir"));
  }
}

TEST(SpeechFaults, SynthesizerSurvivesTextItCannotSay) {
  edgecap::Synthesizer synth;
  for (const auto& text : awkward_texts()) {
    SCOPED_TRACE(::testing::PrintToString(text.substr(0, 40)));
    edgecap::Pcm pcm;
    ASSERT_NO_THROW(pcm = synth.synthesize(text));
    EXPECT_TRUE(pcm.samples.empty() || pcm.sample_rate > 0);
  }
  // And it still speaks normally afterwards: no state left behind by the bad inputs.
  EXPECT_GT(synth.synthesize("a dog on the grass").samples.size(), 1000u);
}

TEST(SpeechFaults, SpeakerSurvivesTextItCannotSay) {
  setenv("SDL_AUDIODRIVER", "dummy", 1);
  edgecap::Speaker speaker({});
  for (const auto& text : awkward_texts()) {
    if (text.size() > 100) continue;  // played in real time by the dummy driver; the synthesizer test has it
    speaker.say(text);
    speaker.wait_idle(60s);
    EXPECT_FALSE(speaker.busy());
  }
}

TEST(SpeechFaults, SayFasterThanSpeechReplacesTheQueueInsteadOfGrowingIt) {
  setenv("SDL_AUDIODRIVER", "dummy", 1);
  edgecap::Speaker speaker({});
  std::vector<std::string> spoken;
  std::mutex m;
  speaker.on_spoken([&](const edgecap::SpeechEvent& e) {
    std::lock_guard<std::mutex> lock(m);
    spoken.push_back(e.text);
  });
  for (int i = 0; i < 200; ++i) speaker.say("caption number " + std::to_string(i));
  speaker.wait_idle(120s);
  EXPECT_FALSE(speaker.busy());
  std::lock_guard<std::mutex> lock(m);
  EXPECT_LT(spoken.size(), 200u) << "queued captions are replaced, not all spoken in turn";
  ASSERT_FALSE(spoken.empty());
  EXPECT_EQ(spoken.back(), "caption number 199") << "the newest caption is the one that is heard";
}

}  // namespace
