#pragma once
// The merchant dashboard: the built files of web/dist (--web-dir), read once at start and served
// at / with an SPA fallback (a path that is not a file gets index.html, so the browser's router
// takes it), a strict Content-Security-Policy (scripts and styles from this origin only, no
// inline code) and the usual security headers; hashed assets are cached for a year, index.html
// never.

#include "http.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace loyaltyd {

class WebAssets {
 public:
  /// The files under `dir`; nullptr when it holds no index.html (the dashboard is not built).
  /// Throws when a file cannot be read or the files pass kMaxBytes in all.
  static std::unique_ptr<WebAssets> load(const std::string& dir);

  /// The answer to a GET of `path` outside the API, or nothing (then 404 as for any path).
  std::optional<Reply> serve(const std::string& path) const;

  std::size_t files() const { return files_.size(); }

  static constexpr std::size_t kMaxBytes = 64u << 20;

 private:
  struct File {
    std::string type;
    std::string body;
    bool immutable = false;  ///< under assets/: its name changes with its content
  };
  Reply reply(const File& file) const;
  std::map<std::string, File> files_;  ///< by URL path, e.g. "/assets/index-3f2a.js"
};

}  // namespace loyaltyd
