#pragma once
// Compressing test bodies with zlib: gzip (window bits 31), zlib (15) or raw deflate (-15).

#include <string>

namespace loyalty::test {

/// `text` deflated at level 6 in the format `window_bits` selects.
std::string deflate_with(const std::string& text, int window_bits);

}  // namespace loyalty::test
