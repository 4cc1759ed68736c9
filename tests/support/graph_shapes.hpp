#pragma once
// The shapes of the Graph API's POST /{phone_number_id}/messages bodies, written down apart
// from the library's builders (a test oracle must not share the code it judges): the request
// examples in tests/data/whatsapp/meta_docs/send_*_request.json and the limits of the protocol
// notes (../shared/protocols/whatsapp.md, section 5).

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace loyalty::test {

/// Every way `body` differs from a text, interactive (button or list) or template message
/// body, one line each ("/interactive/action/buttons/0/reply/title: 21 characters, at most
/// 20"); empty when it matches.
std::vector<std::string> graph_body_problems(const nlohmann::json& body);

}  // namespace loyalty::test
