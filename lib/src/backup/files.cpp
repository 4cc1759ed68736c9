#include "backup/files.hpp"

#include <loyalty/core/error.hpp>

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

namespace loyalty::backup {

namespace fs = std::filesystem;

namespace {

std::string format_utc(std::chrono::system_clock::time_point t, const char* format) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

[[noreturn]] void io_failure(const std::string& what, const std::string& path) {
  throw Error(ErrorCode::unavailable, "backup-io", what + " " + path + ": " + strerror(errno));
}

}  // namespace

std::string compact_utc(std::chrono::system_clock::time_point t) {
  return format_utc(t, "%Y%m%dT%H%M%SZ");
}

std::string iso_utc(std::chrono::system_clock::time_point t) {
  return format_utc(t, "%Y-%m-%dT%H:%M:%SZ");
}

std::optional<BackupName> parse_backup_name(const std::string& file_name,
                                            const std::string& suffix) {
  static const std::regex kStem(R"(loyalty-((\d{6})\d{2})T\d{6}Z(?:-(\d{1,4}))?)");
  if (file_name.size() <= suffix.size() ||
      file_name.compare(file_name.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return std::nullopt;
  }
  std::string stem = file_name.substr(0, file_name.size() - suffix.size());
  std::smatch m;
  if (!std::regex_match(stem, m, kStem)) return std::nullopt;
  BackupName name;
  name.stem = stem;
  name.day = m[1].str();
  name.month = m[2].str();
  name.stamp = stem.substr(8, 16);
  name.sequence = m[3].matched ? std::stoi(m[3].str()) : 1;
  return name;
}

FileDigest digest_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) io_failure("cannot read", path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 20);
  FileDigest out;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      io_failure("cannot read", path);
    }
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(n));
    out.size += n;
  }
  ::close(fd);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  static const char* kHex = "0123456789abcdef";
  for (unsigned int i = 0; i < len; ++i) {
    out.sha256 += kHex[digest[i] >> 4];
    out.sha256 += kHex[digest[i] & 15];
  }
  return out;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  fs::path target(path);
  std::string partial =
      (target.parent_path() / ("." + target.filename().string() + kPartialSuffix)).string();
  int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) io_failure("cannot write", partial);
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      ::unlink(partial.c_str());
      io_failure("cannot write", partial);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(partial.c_str());
    io_failure("cannot write", partial);
  }
  if (::rename(partial.c_str(), path.c_str()) != 0) {
    ::unlink(partial.c_str());
    io_failure("cannot rename to", path);
  }
}

void sync_directory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

std::optional<nlohmann::json> read_manifest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    throw Error(ErrorCode::conflict, "backup-format",
                "the manifest " + fs::path(path).filename().string() + " is not valid JSON");
  }
  return doc;
}

std::vector<std::int64_t> earlier_sizes(const std::string& dir, const std::string& created_at,
                                        std::size_t n) {
  std::vector<std::pair<std::string, std::int64_t>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (!parse_backup_name(name, kManifestSuffix)) continue;
    try {
      auto doc = read_manifest(entry.path().string());
      if (!doc) continue;
      auto at = doc->value("created_at", "");
      if (at.empty() || at >= created_at || !(*doc)["size"].is_number_integer()) continue;
      found.emplace_back(at, (*doc)["size"].get<std::int64_t>());
    } catch (const std::exception&) {
      continue;  // another manifest's damage is its own verification's business
    }
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a > b; });
  std::vector<std::int64_t> sizes;
  for (std::size_t i = 0; i < found.size() && i < n; ++i) sizes.push_back(found[i].second);
  return sizes;
}

}  // namespace loyalty::backup
