// libFuzzer target for the voucher-code upload parser (rewards::read_code_file), which reads
// the body of POST .../reward-catalog/{id}/upload-codes and `loyaltyctl rewards upload-codes`
// files before anything reaches the database. The input is the file. The reader must never
// throw, and what it hands on must keep the documented promises: every code is 4-64 characters
// of A-Z, a-z, 0-9, '-' and '_' taken from its own line; line numbers rise; every line is
// counted; invalid lines are counted all and reported up to kMaxReportedInvalid.
//
//   scripts/fuzz code_file
#include "rewards/code_file.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

void check(bool promise) {
  if (!promise) __builtin_trap();
}

bool code_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string file(reinterpret_cast<const char*>(bytes), size);
  // The lines as std::getline sees them: a final line without '\n' counts when not empty.
  std::vector<std::string_view> lines;
  for (std::size_t start = 0; start < file.size();) {
    const std::size_t end = std::min(file.find('\n', start), file.size());
    lines.push_back(std::string_view(file).substr(start, end - start));
    start = end + 1;
  }

  std::istringstream input(file);
  loyalty::rewards::UploadReport report;
  std::int64_t last_line = 0;
  std::int64_t codes = 0;
  loyalty::rewards::read_code_file(input, report, [&](std::int64_t line, const std::string& code) {
    check(line > last_line && line <= static_cast<std::int64_t>(lines.size()));
    last_line = line;
    check(code.size() >= 4 && code.size() <= 64);
    check(std::all_of(code.begin(), code.end(), code_char));
    check(lines[static_cast<std::size_t>(line - 1)].find(code) != std::string_view::npos);
    ++codes;
  });
  check(!input.bad());
  check(report.lines == static_cast<std::int64_t>(lines.size()));
  check(report.invalid_count >= 0 && codes + report.invalid_count <= report.lines);
  check(report.invalid.size() ==
        std::min<std::size_t>(static_cast<std::size_t>(report.invalid_count),
                              loyalty::rewards::kMaxReportedInvalid));
  std::int64_t previous = 0;
  for (const auto& invalid : report.invalid) {
    check(invalid.line > previous && invalid.line <= report.lines && !invalid.reason.empty());
    previous = invalid.line;
  }
  return 0;
}
