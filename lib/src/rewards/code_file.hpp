#pragma once
// Private: reading an uploaded voucher-code file (one code per line, or a CSV whose first column
// is the code), free of the database so a fuzzer can drive it directly.

#include <loyalty/rewards/rewards.hpp>

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

namespace loyalty::rewards {

/// Reads `input` to its end as upload_codes documents it: counts every line into
/// `report.lines`, records lines that are not a valid code in `report.invalid` (the first
/// kMaxReportedInvalid) and `report.invalid_count`, and calls `on_code(line, code)` for each
/// valid code in file order. A UTF-8 byte-order mark on line 1, blank lines and a first
/// non-blank line "code" (any case: the CSV header) are skipped. Never throws for the file's
/// content; exceptions from `on_code` propagate. The caller checks `input.bad()`.
void read_code_file(std::istream& input, UploadReport& report,
                    const std::function<void(std::int64_t line, const std::string& code)>& on_code);

}  // namespace loyalty::rewards
