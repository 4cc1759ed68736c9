#include "web.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace loyaltyd {

namespace {

namespace fs = std::filesystem;

std::string type_of(const fs::path& file) {
  static const std::map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"}};
  auto it = kTypes.find(file.extension().string());
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

// Scripts, styles, fonts and API calls from this origin only; no inline code, no frames.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

}  // namespace

std::unique_ptr<WebAssets> WebAssets::load(const std::string& dir) {
  std::error_code ec;
  if (dir.empty() || !fs::is_regular_file(fs::path(dir) / "index.html", ec)) return nullptr;
  auto web = std::make_unique<WebAssets>();
  std::size_t total = 0;
  const fs::path root = fs::canonical(dir);
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    if (!in && !in.eof()) throw std::runtime_error("cannot read " + entry.path().string());
    total += body.str().size();
    if (total > kMaxBytes) throw std::runtime_error("the dashboard in " + dir + " is too large");
    const std::string url = "/" + fs::relative(entry.path(), root).generic_string();
    web->files_[url] = File{type_of(entry.path()), body.str(), url.rfind("/assets/", 0) == 0};
  }
  return web;
}

Reply WebAssets::reply(const File& file) const {
  Reply r{200, file.type, file.body, {}};
  r.headers = {
      {"Content-Security-Policy", kContentSecurityPolicy},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Cache-Control", file.immutable ? "public, max-age=31536000, immutable" : "no-cache"}};
  return r;
}

std::optional<Reply> WebAssets::serve(const std::string& path) const {
  if (path.rfind("/v1/", 0) == 0 || path.rfind("/public/", 0) == 0) return std::nullopt;
  if (auto it = files_.find(path); it != files_.end()) return reply(it->second);
  // A page of the app (no file extension in its last segment): the app, whose router shows it.
  const auto last = path.substr(path.rfind('/') + 1);
  if (last.find('.') != std::string::npos || path.rfind("/assets/", 0) == 0) return std::nullopt;
  return reply(files_.at("/index.html"));
}

}  // namespace loyaltyd
