// Reading an uploaded voucher-code file: the lines, the codes on them, and why a line is not one.
#include "rewards/code_file.hpp"

#include <loyalty/core/utf8.hpp>

#include <cctype>
#include <cstdint>
#include <istream>
#include <string_view>

namespace loyalty::rewards {

namespace {

constexpr std::size_t kMinCode = 4;
constexpr std::size_t kMaxCode = 64;

std::string_view trim(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

bool code_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

/// The code on one line, or the reason the line is not one.
struct ParsedLine {
  std::string code;
  std::string reason;  ///< empty when valid
  bool blank = false;
};

ParsedLine parse_line(std::string_view raw) {
  ParsedLine out;
  if (!utf8::valid(raw)) {
    out.reason = "not valid UTF-8";
    return out;
  }
  std::string_view field = trim(raw);
  // A CSV line: the code is the first column, possibly quoted.
  if (auto comma = field.find(','); comma != std::string_view::npos) {
    field = trim(field.substr(0, comma));
  }
  if (field.size() >= 2 && field.front() == '"' && field.back() == '"') {
    field = trim(field.substr(1, field.size() - 2));
  }
  if (field.empty()) {
    out.blank = true;
    return out;
  }
  for (char c : field) {
    if (!code_char(c)) {
      out.reason = "characters other than A-Z, a-z, 0-9, '-' and '_'";
      return out;
    }
  }
  if (field.size() < kMinCode || field.size() > kMaxCode) {
    out.reason =
        "must be 4 to 64 characters long (this one has " + std::to_string(field.size()) + ")";
    return out;
  }
  out.code = std::string(field);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

void read_code_file(
    std::istream& input, UploadReport& report,
    const std::function<void(std::int64_t line, const std::string& code)>& on_code) {
  std::string line;
  bool first_content = true;
  while (std::getline(input, line)) {
    ++report.lines;
    std::string_view view = line;
    if (report.lines == 1 && view.substr(0, 3) == "\xEF\xBB\xBF") view.remove_prefix(3);
    ParsedLine parsed = parse_line(view);
    if (parsed.blank) continue;
    if (first_content) {
      first_content = false;
      if (parsed.reason.empty() && iequals(parsed.code, "code")) continue;  // CSV header
    }
    if (!parsed.reason.empty()) {
      ++report.invalid_count;
      if (report.invalid.size() < kMaxReportedInvalid) {
        report.invalid.push_back({report.lines, parsed.reason});
      }
      continue;
    }
    on_code(report.lines, parsed.code);
  }
}

}  // namespace loyalty::rewards
