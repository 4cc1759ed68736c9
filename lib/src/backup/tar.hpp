#pragma once
// Private to the backup module: the POSIX tar (ustar) stream inside an encrypted backup, so an
// operator with only `age` and `tar` can unpack one. Members are written whole (their size
// goes first), which is why the database dump travels as a series of members of at most a few
// MiB each: its size is not known until pg_dump ends, and nothing of it is kept on disk.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace loyalty::backup {

/// Writes members and the end-of-archive marker to a file descriptor (a pipe to age).
class TarWriter {
 public:
  explicit TarWriter(int fd) : fd_(fd) {}
  /// One regular file member, mode 0600, modified at `mtime` (seconds since the epoch). False
  /// when the reader has gone (EPIPE).
  bool add(std::string_view name, std::string_view data, std::int64_t mtime);
  /// The two zero blocks that end an archive. False on EPIPE.
  bool finish();

 private:
  int fd_;
};

struct TarMember {
  std::string name;
  std::uint64_t size = 0;
};

/// Reads members from a file descriptor (a pipe from `age -d`). Throws
/// Error(conflict, "backup-format") on a damaged header or a stream that ends early.
class TarReader {
 public:
  explicit TarReader(int fd) : fd_(fd) {}
  /// The next member's header, skipping what is left of the current one; std::nullopt at the
  /// end-of-archive marker.
  std::optional<TarMember> next();
  /// Up to `size` bytes of the current member; 0 when it has been read.
  std::size_t read(char* data, std::size_t size);
  /// The whole current member; throws Error(conflict, "backup-format") when it is larger than
  /// `max` bytes.
  std::string read_all(std::size_t max);

 private:
  void skip_rest();
  int fd_;
  std::uint64_t left_ = 0;     // bytes of the current member not read yet
  std::uint64_t padding_ = 0;  // zero bytes after it, up to the next 512-byte block
};

}  // namespace loyalty::backup
