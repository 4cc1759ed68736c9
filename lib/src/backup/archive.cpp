#include "backup/archive.hpp"

#include "backup/process.hpp"
#include "backup/tar.hpp"

#include <loyalty/backup/backup.hpp>
#include <loyalty/core/error.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <vector>

namespace loyalty::backup {

namespace {

// The dump travels in members of this size: the buffer this process holds, and the unit an
// operator's `cat database.dump.*` joins again.
constexpr std::size_t kChunk = 8 << 20;
constexpr std::size_t kMaxSmallMember = 64 << 20;

std::string dump_member(std::size_t index) {
  char name[32];
  std::snprintf(name, sizeof name, "%s%06zu", kDumpMemberPrefix, index);
  return name;
}

std::vector<std::string> password_env(const db::ClientConnection& c) {
  if (c.password.empty()) return {};
  return {"PGPASSWORD=" + c.password};
}

std::string said(const Child& child) {
  std::string line = child.error_line();
  return line.empty() ? child.name() + " gave no reason" : line;
}

}  // namespace

std::uint64_t write_archive(const ArchiveInput& input, int out_fd) {
  IgnoreSigpipe sigpipe;
  Pipe dump = make_pipe();   // pg_dump → this process
  Pipe crypt = make_pipe();  // this process → age

  Child pg_dump = spawn({{pg_program("pg_dump"), "--format=custom", "--no-password",
                          std::string("--role=") + kBackupRole, "--snapshot=" + input.snapshot,
                          "--dbname=" + input.source.conninfo},
                         password_env(input.source),
                         -1,
                         dump.write.get()});
  dump.write.reset();
  Child age = spawn({{age_program("age"), "--encrypt", "--recipient", input.recipient},
                     {},
                     crypt.read.get(),
                     out_fd});
  crypt.read.reset();

  TarWriter tar(crypt.write.get());
  std::uint64_t dump_bytes = 0;
  bool ok = tar.add(kHeaderMember, input.header, input.mtime) &&
            tar.add(kRolesMember, input.roles_sql, input.mtime);
  std::vector<char> buffer(kChunk);
  for (std::size_t index = 1; ok; ++index) {
    std::size_t n = read_full(dump.read.get(), buffer.data(), buffer.size());
    if (n == 0) break;
    dump_bytes += n;
    ok = tar.add(dump_member(index), std::string_view(buffer.data(), n), input.mtime);
  }
  if (ok) ok = tar.finish();
  crypt.write.reset();  // age sees the end and writes its last chunk
  dump.read.reset();    // should this process have stopped early, pg_dump stops too

  int age_status = age.wait();
  int dump_status = pg_dump.wait();
  // age failing first makes pg_dump fail on a closed pipe: name the cause, not the echo.
  if (age_status != 0) {
    throw Error(ErrorCode::unavailable, "backup-failed", "age failed: " + said(age));
  }
  if (dump_status != 0) {
    throw Error(ErrorCode::unavailable, "backup-failed", "pg_dump failed: " + said(pg_dump));
  }
  if (!ok) throw Error(ErrorCode::unavailable, "backup-failed", "age stopped reading its input");
  if (dump_bytes == 0) {
    throw Error(ErrorCode::unavailable, "backup-failed", "pg_dump wrote nothing");
  }
  return dump_bytes;
}

Unpacked restore_archive(const std::string& file, const std::string& identity,
                         const db::ClientConnection& target,
                         const std::function<void(const Unpacked&)>& before_restore) {
  IgnoreSigpipe sigpipe;
  Pipe plain = make_pipe();  // age -d → this process
  Child age = spawn(
      {{age_program("age"), "--decrypt", "--identity", identity, file}, {}, -1, plain.write.get()});
  plain.write.reset();
  TarReader tar(plain.read.get());

  // Whatever goes wrong in the stream, age's own verdict comes first: a wrong key or a damaged
  // file shows here as a stream that ends early.
  auto decrypt_failure = [&](const std::string& otherwise_type, const std::string& otherwise) {
    plain.read.reset();
    int status = age.wait();
    if (status != 0) {
      return Error(ErrorCode::conflict, "backup-decrypt", "decryption failed: " + said(age));
    }
    return Error(ErrorCode::conflict, otherwise_type, otherwise);
  };

  Unpacked unpacked;
  try {
    auto header = tar.next();
    if (!header || header->name != kHeaderMember) {
      throw Error(ErrorCode::conflict, "backup-format",
                  "it does not begin with " + std::string(kHeaderMember));
    }
    unpacked.header = nlohmann::json::parse(tar.read_all(kMaxSmallMember));
    auto roles = tar.next();
    if (!roles || roles->name != kRolesMember) {
      throw Error(ErrorCode::conflict, "backup-format", std::string(kRolesMember) + " is missing");
    }
    unpacked.roles_sql = tar.read_all(kMaxSmallMember);
  } catch (const nlohmann::json::exception&) {
    throw decrypt_failure("backup-format", "not a loyalty backup: its header is not JSON");
  } catch (const Error& e) {
    if (e.type() != "backup-format") throw;
    throw decrypt_failure("backup-format", std::string("not a loyalty backup: ") + e.what());
  }
  if (!unpacked.header.is_object() || unpacked.header.value("format", "") != "loyalty-backup") {
    throw decrypt_failure("backup-format", "not a loyalty backup: unknown header");
  }
  before_restore(unpacked);

  // Declared after the pipe so that, leaving by an exception, pg_restore is killed before its
  // input is closed: an end of input could otherwise look like the end of a dump.
  Pipe feed = make_pipe();  // this process → pg_restore
  Child pg_restore = spawn({{pg_program("pg_restore"), "--single-transaction", "--exit-on-error",
                             "--no-password", "--dbname=" + target.conninfo},
                            password_env(target),
                            feed.read.get(),
                            -1});
  feed.read.reset();

  bool feeding = true;
  std::optional<Error> stream_error;
  try {
    std::vector<char> buffer(1 << 20);
    for (std::size_t index = 1;; ++index) {
      auto member = tar.next();
      if (!member) break;
      if (member->name != dump_member(index)) {
        throw Error(ErrorCode::conflict, "backup-format",
                    "not a loyalty backup: unexpected member " + member->name);
      }
      while (std::size_t n = tar.read(buffer.data(), buffer.size())) {
        unpacked.dump_bytes += n;
        // pg_restore may stop reading once it has what it needs: the rest is still read, so
        // the stream is checked to its end.
        if (feeding) feeding = write_full(feed.write.get(), buffer.data(), n);
      }
    }
    // tar(1) pads an archive to whole records with zeros; anything else after the end is not
    // part of a backup.
    while (std::size_t n = read_full(plain.read.get(), buffer.data(), buffer.size())) {
      if (std::any_of(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n),
                      [](char c) { return c != 0; })) {
        throw Error(ErrorCode::conflict, "backup-format", "data after the end of the archive");
      }
    }
    if (unpacked.dump_bytes == 0)
      throw Error(ErrorCode::conflict, "backup-format", "the dump is empty");
  } catch (const Error& e) {
    if (e.type() != "backup-format") throw;
    stream_error = e;
  }

  plain.read.reset();
  int age_status = age.wait();
  if (age_status != 0 || stream_error) {
    pg_restore.kill_now();  // before its input ends: nothing is committed
    if (age_status != 0) {
      throw Error(ErrorCode::conflict, "backup-decrypt", "decryption failed: " + said(age));
    }
    throw *stream_error;
  }
  feed.write.reset();
  if (pg_restore.wait() != 0) {
    throw Error(ErrorCode::conflict, "backup-pg-restore", "pg_restore failed: " + said(pg_restore));
  }
  return unpacked;
}

}  // namespace loyalty::backup
