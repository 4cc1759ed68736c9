#pragma once
// The self-service reads inside a transaction the caller holds, so that one USSD callback reads
// the merchant, its session and the member in one round of the database, and the screen's data
// with the session's save in another.

#include "db/tx.hpp"

#include <loyalty/selfservice/members.hpp>

namespace loyalty::selfservice {

Merchant merchant_in(db::Tx& tx, const std::string& tenant_id);
std::optional<Member> find_member_in(db::Tx& tx, const Merchant& m, const std::string& phone);
Points points_in(db::Tx& tx, const Merchant& m, const std::string& customer_id);
std::vector<Reward> rewards_in(db::Tx& tx, const Merchant& m, const std::string& customer_id);
std::vector<Offer> offers_in(db::Tx& tx, const Merchant& m);

}  // namespace loyalty::selfservice
