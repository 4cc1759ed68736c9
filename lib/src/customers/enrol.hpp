#pragma once
// Private: enrolment inside another module's transaction (the event pipeline's).

#include "db/tx.hpp"

#include <optional>
#include <string>

namespace loyalty::customers {

/// Enrols a customer known only by a phone number (normalised E.164) or an external reference,
/// with the `customer.enrolled` outbox row, in the caller's transaction. False when a customer
/// with that phone or reference exists already (enrolled meanwhile by a concurrent event).
bool enrol_on_the_fly(db::Tx& tx, const std::string& tenant_id,
                      const std::optional<std::string>& phone,
                      const std::optional<std::string>& external_ref, const std::string& channel);

}  // namespace loyalty::customers
