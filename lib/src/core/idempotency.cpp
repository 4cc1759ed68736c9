#include <loyalty/core/idempotency.hpp>

namespace loyalty {

std::string idempotency_key(const nlohmann::json& body, const std::string& header,
                            std::vector<FieldError>& errors) {
  std::string body_key;
  if (body.contains("idempotency_key")) {
    const auto& k = body["idempotency_key"];
    if (!k.is_string() || k.get<std::string>().empty() || k.get<std::string>().size() > 200) {
      errors.push_back({"/idempotency_key", "must be a string of 1 to 200 characters"});
    } else {
      body_key = k.get<std::string>();
    }
  }
  if (!header.empty() && !body_key.empty() && header != body_key) {
    errors.push_back({"/idempotency_key", "differs from the Idempotency-Key header"});
  }
  std::string key = !body_key.empty() ? body_key : header;
  if (key.size() > 200) errors.push_back({"/idempotency_key", "at most 200 characters"});
  return key;
}

}  // namespace loyalty
