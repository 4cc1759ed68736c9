#pragma once
// Who reads voucher codes in clear, for the routes that show issuances (events.cpp,
// issuances.cpp).

#include "server.hpp"

#include <loyalty/issuances/issuances.hpp>

namespace loyaltyd {

/// Admins and managers read voucher codes; viewers and POS keys (HMAC-signed callers included)
/// see them masked: a till redeems the code the customer shows and has no need to browse them.
/// The answer to the event that issued a code, replays included, keeps it in clear.
inline loyalty::issuances::CodeView code_view(const Request& req) {
  const auto& role = req.principal.role;
  return role == "admin" || role == "manager" ? loyalty::issuances::CodeView::clear
                                              : loyalty::issuances::CodeView::masked;
}

/// An issuance as the caller may see it.
inline nlohmann::json issuance_json(const Request& req, const loyalty::issuances::Issuance& i) {
  return loyalty::issuances::to_json(i, code_view(req));
}

}  // namespace loyaltyd
