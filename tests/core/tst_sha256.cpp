// SHA-256 (util/sha256.h) against the published test vectors.

#include "util/sha256.h"

#include <gtest/gtest.h>

#include <string>

using ptq::sha256Hex;

TEST(Sha256, MatchesPublishedVectors)
{
    // FIPS 180-4 / NIST CSRC example values; the 56-byte message needs a second padding
    // block, the million 'a's exercise many full blocks.
    EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(sha256Hex(std::string(1000000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
