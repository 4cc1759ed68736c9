#include "backup/tar.hpp"

#include "backup/process.hpp"

#include <loyalty/core/error.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

namespace loyalty::backup {

namespace {

constexpr std::size_t kBlock = 512;

[[noreturn]] void damaged(const std::string& what) {
  throw Error(ErrorCode::conflict, "backup-format", what);
}

/// `width` - 1 octal digits and a NUL, as ustar writes them. Throws when the value does not fit.
void put_octal(char* field, std::size_t width, std::uint64_t value) {
  field[width - 1] = '\0';
  for (std::size_t i = width - 1; i-- > 0;) {
    field[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
  if (value != 0) throw Error(ErrorCode::internal, "backup-format", "tar field overflow");
}

std::uint64_t checksum(const char* header) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < kBlock; ++i) {
    bool in_field = i >= 148 && i < 156;
    sum += in_field ? ' ' : static_cast<unsigned char>(header[i]);
  }
  return sum;
}

std::optional<std::uint64_t> parse_octal(const char* field, std::size_t width) {
  std::uint64_t value = 0;
  std::size_t i = 0;
  while (i < width && field[i] == ' ') ++i;
  bool digits = false;
  for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i) {
    if (value > (UINT64_MAX >> 3)) return std::nullopt;
    value = value * 8 + static_cast<std::uint64_t>(field[i] - '0');
    digits = true;
  }
  for (; i < width; ++i) {
    if (field[i] != '\0' && field[i] != ' ') return std::nullopt;
  }
  if (!digits) return std::nullopt;
  return value;
}

}  // namespace

bool TarWriter::add(std::string_view name, std::string_view data, std::int64_t mtime) {
  if (name.empty() || name.size() >= 100) {
    throw Error(ErrorCode::internal, "backup-format", "tar member name too long");
  }
  std::array<char, kBlock> header{};
  std::memcpy(header.data(), name.data(), name.size());
  put_octal(header.data() + 100, 8, 0600);
  put_octal(header.data() + 108, 8, 0);
  put_octal(header.data() + 116, 8, 0);
  put_octal(header.data() + 124, 12, data.size());
  put_octal(header.data() + 136, 12, static_cast<std::uint64_t>(std::max<std::int64_t>(mtime, 0)));
  header[156] = '0';
  std::memcpy(header.data() + 257, "ustar", 6);
  std::memcpy(header.data() + 263, "00", 2);
  // The checksum field: six digits, a NUL and a space.
  put_octal(header.data() + 148, 7, checksum(header.data()));
  header[155] = ' ';
  if (!write_full(fd_, header.data(), header.size())) return false;
  if (!write_full(fd_, data.data(), data.size())) return false;
  std::array<char, kBlock> zeros{};
  std::size_t pad = (kBlock - data.size() % kBlock) % kBlock;
  return write_full(fd_, zeros.data(), pad);
}

bool TarWriter::finish() {
  std::array<char, 2 * kBlock> zeros{};
  return write_full(fd_, zeros.data(), zeros.size());
}

void TarReader::skip_rest() {
  char buf[8192];
  while (left_ > 0) {
    if (read(buf, sizeof buf) == 0) break;
  }
  while (padding_ > 0) {
    std::size_t n = read_full(fd_, buf, static_cast<std::size_t>(padding_));
    if (n != padding_) damaged("the archive ends inside a member");
    padding_ = 0;
  }
}

std::optional<TarMember> TarReader::next() {
  skip_rest();
  std::array<char, kBlock> header{};
  std::size_t n = read_full(fd_, header.data(), header.size());
  if (n == 0) damaged("the archive ends before its end marker");
  if (n != kBlock) damaged("the archive ends inside a header");
  if (std::all_of(header.begin(), header.end(), [](char c) { return c == '\0'; })) {
    n = read_full(fd_, header.data(), header.size());
    if (n != kBlock || !std::all_of(header.begin(), header.end(), [](char c) { return c == 0; })) {
      damaged("the archive's end marker is damaged");
    }
    return std::nullopt;
  }
  auto sum = parse_octal(header.data() + 148, 8);
  if (!sum || *sum != checksum(header.data())) damaged("a tar header's checksum is wrong");
  if (std::memcmp(header.data() + 257, "ustar", 5) != 0) damaged("not a ustar archive");
  if (header[156] != '0' && header[156] != '\0') damaged("the archive holds a non-file member");
  auto size = parse_octal(header.data() + 124, 12);
  if (!size) damaged("a tar header's size is malformed");
  TarMember m;
  m.name.assign(header.data(), strnlen(header.data(), 100));
  m.size = *size;
  left_ = *size;
  padding_ = (kBlock - *size % kBlock) % kBlock;
  return m;
}

std::size_t TarReader::read(char* data, std::size_t size) {
  if (left_ == 0) return 0;
  std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(size, left_));
  std::size_t n = read_full(fd_, data, want);
  if (n != want) damaged("the archive ends inside a member");
  left_ -= n;
  return n;
}

std::string TarReader::read_all(std::size_t max) {
  if (left_ > max) damaged("a member is larger than expected");
  std::string out(static_cast<std::size_t>(left_), '\0');
  std::size_t n = read(out.data(), out.size());
  out.resize(n);
  return out;
}

}  // namespace loyalty::backup
