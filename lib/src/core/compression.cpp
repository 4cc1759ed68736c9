#include <loyalty/core/compression.hpp>
#include <loyalty/core/error.hpp>

#include <brotli/decode.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>

namespace loyalty {

namespace {

[[noreturn]] void malformed(std::string_view coding) {
  throw Error(ErrorCode::invalid, "malformed-request",
              "the body is not valid " + std::string(coding) + " data");
}

constexpr std::size_t kChunk = 16 * 1024;

enum class ZlibResult { done, over_limit, bad_data };

/// Inflates with the given window bits (31 gzip, 15 zlib, -15 raw deflate), chunk by chunk.
ZlibResult inflate_into(std::string_view input, int window_bits, std::size_t limit,
                        std::string& out) {
  out.clear();
  z_stream z{};
  if (inflateInit2(&z, window_bits) != Z_OK) throw Error(ErrorCode::internal, "internal", "zlib");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, inflateEnd);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  z.avail_in = static_cast<uInt>(input.size());
  std::array<char, kChunk> chunk{};
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z.avail_out = static_cast<uInt>(chunk.size());
    int rc = inflate(&z, Z_NO_FLUSH);
    std::size_t produced = chunk.size() - z.avail_out;
    if (out.size() + produced > limit) return ZlibResult::over_limit;
    out.append(chunk.data(), produced);
    if (rc == Z_STREAM_END) {
      // Bytes after the end of the stream are not part of a body this coding describes.
      return z.avail_in == 0 ? ZlibResult::done : ZlibResult::bad_data;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0) return ZlibResult::bad_data;  // truncated
    if (rc != Z_OK && rc != Z_BUF_ERROR) return ZlibResult::bad_data;
  }
}

std::optional<std::string> decode_brotli(std::string_view input, std::size_t limit) {
  std::unique_ptr<BrotliDecoderState, void (*)(BrotliDecoderState*)> state(
      BrotliDecoderCreateInstance(nullptr, nullptr, nullptr), BrotliDecoderDestroyInstance);
  if (!state) throw Error(ErrorCode::internal, "internal", "brotli");
  std::string out;
  std::array<std::uint8_t, kChunk> chunk{};
  const auto* next_in = reinterpret_cast<const std::uint8_t*>(input.data());
  std::size_t avail_in = input.size();
  while (true) {
    std::uint8_t* next_out = chunk.data();
    std::size_t avail_out = chunk.size();
    auto rc = BrotliDecoderDecompressStream(state.get(), &avail_in, &next_in, &avail_out, &next_out,
                                            nullptr);
    std::size_t produced = chunk.size() - avail_out;
    if (out.size() + produced > limit) return std::nullopt;
    out.append(reinterpret_cast<const char*>(chunk.data()), produced);
    if (rc == BROTLI_DECODER_RESULT_SUCCESS) {
      if (avail_in != 0) malformed("br");
      return out;
    }
    if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) continue;
    malformed("br");  // an error, or input that ends before the stream does
  }
}

}  // namespace

std::optional<ContentCoding> parse_content_coding(std::string_view header) noexcept {
  auto begin = header.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return ContentCoding::identity;
  auto end = header.find_last_not_of(" \t");
  std::string name(header.substr(begin, end - begin + 1));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (name == "identity") return ContentCoding::identity;
  if (name == "gzip" || name == "x-gzip") return ContentCoding::gzip;
  if (name == "deflate") return ContentCoding::deflate;
  if (name == "br") return ContentCoding::br;
  return std::nullopt;
}

std::optional<std::string> decode_bounded(ContentCoding coding, std::string_view input,
                                          std::size_t limit) {
  std::string out;
  ZlibResult result = ZlibResult::done;
  switch (coding) {
    case ContentCoding::identity:
      if (input.size() > limit) return std::nullopt;
      return std::string(input);
    case ContentCoding::br:
      return decode_brotli(input, limit);
    case ContentCoding::gzip:
      result = inflate_into(input, 15 + 16, limit, out);
      if (result == ZlibResult::bad_data) malformed("gzip");
      break;
    case ContentCoding::deflate:
      result = inflate_into(input, 15, limit, out);
      if (result == ZlibResult::bad_data) result = inflate_into(input, -15, limit, out);
      if (result == ZlibResult::bad_data) malformed("deflate");
      break;
  }
  if (result == ZlibResult::over_limit) return std::nullopt;
  return out;
}

}  // namespace loyalty
