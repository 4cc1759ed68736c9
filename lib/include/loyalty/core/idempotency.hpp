#pragma once
// A request's idempotency key: the `Idempotency-Key` header or "idempotency_key" in the JSON
// body, as POST .../events and POST .../claims take it.
#include <loyalty/core/error.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace loyalty {

/// The body's "idempotency_key" (a string of 1 to 200 characters), else the header's; "" when
/// neither is given. Appends each problem under /idempotency_key: a body key that is not such a
/// string, a body key that differs from the header's, a header key over 200 characters.
std::string idempotency_key(const nlohmann::json& body, const std::string& header,
                            std::vector<FieldError>& errors);

}  // namespace loyalty
