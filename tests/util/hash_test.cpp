#include "edgecap/hash.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

namespace edgecap {
namespace {

// FIPS 180-2 appendix B test vectors.
TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 56 bytes: the padding no longer fits the first block.
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, BinaryBytesAndBlockBoundaries) {
  const std::string with_nul("a\0b", 3);
  EXPECT_NE(sha256_hex(with_nul), sha256_hex("ab"));
  // 64 and 55 bytes sit on the padding edges; they must differ from their neighbours.
  EXPECT_NE(sha256_hex(std::string(64, 'x')), sha256_hex(std::string(63, 'x')));
  EXPECT_NE(sha256_hex(std::string(55, 'x')), sha256_hex(std::string(56, 'x')));
}

TEST(Sha256, FileMatchesBytes) {
  const auto path =
      std::filesystem::temp_directory_path() / ("edgecap_hash_test_" + std::to_string(::getpid()));
  std::string content;
  for (int i = 0; i < 200000; ++i) content += static_cast<char>(i * 7 % 256);  // spans several read chunks
  {
    std::ofstream out(path, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  }
  EXPECT_EQ(sha256_file(path.string()), sha256_hex(content));
  std::filesystem::remove(path);
  EXPECT_THROW(sha256_file(path.string()), std::runtime_error);
}

}  // namespace
}  // namespace edgecap
