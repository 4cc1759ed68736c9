#pragma once
// Private: the consent history (customer_consents, append-only), written by every path that
// gives or withdraws a customer's consent, in its transaction.

#include "db/tx.hpp"

#include <loyalty/core/actor.hpp>

#include <string>

namespace loyalty::customers {

/// Appends an entry to the customer's consent history: consent given (true) or withdrawn, on
/// `channel` (pos | whatsapp | ussd | web | api), by `actor`, now.
void record_consent(db::Tx& tx, const std::string& tenant_id, const std::string& customer_id,
                    bool given, const std::string& channel, const Actor& actor);

}  // namespace loyalty::customers
