#pragma once

#include <string>

namespace loyalty::log {

/// Human-readable logs on stderr for the CLI (warnings and above unless `level` says otherwise).
void init_cli(const std::string& level);

/// One JSON object per line on stdout for the daemon.
void init_daemon(const std::string& level);

/// Masks a phone number for logs: "+263771234567" → "+26377*****67".
std::string mask_phone(const std::string& phone);

}  // namespace loyalty::log
