#include "edgecap/system_info.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

namespace edgecap {
namespace {

TEST(SystemInfo, MemoryIsReadFromProc) {
  const ProcessMemory before = process_memory();
  EXPECT_GT(before.rss_mb, 0.0);
  EXPECT_GE(before.peak_rss_mb, before.rss_mb);
  // Touch 64 MB so the resident size must grow.
  std::vector<char> block(64 << 20, 1);
  for (std::size_t i = 0; i < block.size(); i += 4096) block[i] = char(i);
  const ProcessMemory after = process_memory();
  EXPECT_GT(after.rss_mb, before.rss_mb + 50.0);
  EXPECT_GE(after.peak_rss_mb, after.rss_mb);
}

TEST(SystemInfo, FileDescriptorsCountOpenFiles) {
  const int before = open_file_descriptors();
  ASSERT_GT(before, 0);
  const int fd = open("/proc/self/status", O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(open_file_descriptors(), before + 1);
  close(fd);
  EXPECT_EQ(open_file_descriptors(), before);
}

TEST(SystemInfo, ThreadCountSeesANewThread) {
  const int before = thread_count();
  EXPECT_GE(before, 1);
  std::atomic<bool> stop{false};
  std::thread worker([&] {
    while (!stop) std::this_thread::yield();
  });
  const int during = thread_count();
  stop = true;
  worker.join();
  EXPECT_EQ(during, before + 1);
}

TEST(SystemInfo, CpuFacts) {
  EXPECT_FALSE(cpu_model().empty());
  EXPECT_GE(logical_cores(), 1);
  EXPECT_GE(physical_cores(), 1);
  EXPECT_LE(physical_cores(), logical_cores());
}

TEST(SystemInfo, BlasIsEmptyOrALibraryPath) {
  const std::string blas = blas_library();
  if (!blas.empty()) {
    EXPECT_EQ(blas[0], '/');
    EXPECT_NE(blas.find("lib"), std::string::npos);
  }
}

TEST(SystemInfo, BlasIsFoundOnceMapped) {
  void* blas = dlopen("libblas.so.3", RTLD_NOW | RTLD_LOCAL);
  if (!blas) GTEST_SKIP() << "no libblas.so.3 on this machine";
  const std::string path = blas_library();
  EXPECT_THAT(path, ::testing::HasSubstr("blas"));
  dlclose(blas);
}

TEST(SystemInfo, NoDisplayWithoutDisplayVariable) {
  const char* saved = std::getenv("DISPLAY");
  const std::string saved_value = saved ? saved : "";
  unsetenv("DISPLAY");
  EXPECT_FALSE(display_available());
  // A display number with no X server behind it.
  setenv("DISPLAY", ":987", 1);
  EXPECT_FALSE(display_available());
  if (saved)
    setenv("DISPLAY", saved_value.c_str(), 1);
  else
    unsetenv("DISPLAY");
}

TEST(SystemInfo, HumanBytes) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(999), "999 B");
  EXPECT_EQ(human_bytes(1500), "1.5 KB");
  EXPECT_EQ(human_bytes(12'345'678), "12.3 MB");
  EXPECT_EQ(human_bytes(2'000'000'000ULL), "2.0 GB");
}

}  // namespace
}  // namespace edgecap
