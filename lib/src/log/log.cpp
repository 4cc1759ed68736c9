#include <loyalty/log/log.hpp>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <cstdio>

namespace loyalty::log {

namespace {

spdlog::level::level_enum parse_level(const std::string& level, spdlog::level::level_enum dflt) {
  if (level.empty()) return dflt;
  auto parsed = spdlog::level::from_str(level);
  return parsed == spdlog::level::off && level != "off" ? dflt : parsed;
}

/// Renders the message as JSON fields: pre-rendered fields (`"msg":"...",...`) as they are
/// when they parse; anything else (library text such as `db.migrated name=...`, or fields a
/// caller failed to escape) becomes an escaped "msg", so every line stays one JSON object.
class JsonFieldsFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view text(msg.payload.data(), msg.payload.size());
    if (text.rfind("\"msg\":", 0) == 0 && text.find('\n') == std::string_view::npos) {
      std::string object;
      object.reserve(text.size() + 2);
      object.append("{").append(text).append("}");
      if (nlohmann::json::accept(object)) {
        dest.append(text.data(), text.data() + text.size());
        return;
      }
    }
    std::string field = "\"msg\":" + quote(text);
    dest.append(field.data(), field.data() + field.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonFieldsFlag>();
  }
};

}  // namespace

void init_cli(const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("loyaltyctl");
  logger->set_pattern("loyaltyctl: %l: %v");
  // The CLI's "info" default keeps routine library logs quiet; operators ask for debug.
  logger->set_level(level == "info" ? spdlog::level::warn
                                    : parse_level(level, spdlog::level::warn));
  spdlog::set_default_logger(logger);
}

void init_daemon(const std::string& level) {
  auto logger = spdlog::stdout_logger_mt("loyaltyd");
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<JsonFieldsFlag>('*').set_pattern(
      R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%*})");
  logger->set_formatter(std::move(formatter));
  logger->set_level(parse_level(level, spdlog::level::info));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  // spdlog's own complaints (a format string that does not match its arguments) would be a
  // line of plain text in the middle of the JSON.
  spdlog::set_error_handler([](const std::string& message) {
    std::fprintf(stderr, "{\"level\":\"error\",\"msg\":\"log.failed\",\"error\":%s}\n",
                 quote(message).c_str());
  });
}

std::string quote(std::string_view text) {
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string mask_phone(const std::string& phone) {
  if (phone.size() <= 6) return std::string(phone.size(), '*');
  return phone.substr(0, 6) + std::string(phone.size() - 8, '*') + phone.substr(phone.size() - 2);
}

}  // namespace loyalty::log
