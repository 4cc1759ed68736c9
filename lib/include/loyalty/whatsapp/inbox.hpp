#pragma once
// What the daemon does with a verified WhatsApp webhook: each message sent to a tenant's number
// is kept once per wamid (Meta redelivers for up to 7 days) and queued for the worker, which
// answers it through the self-service conversation; each status update (sent, delivered, read,
// failed) is recorded on the notification it names. Routing is by metadata.phone_number_id:
// a number belongs to one tenant, and everything is written under that tenant's row security.

#include <loyalty/whatsapp/inbound.hpp>

#include <functional>
#include <string>

namespace loyalty::db {
class Database;
}
namespace loyalty::jobs {
class Worker;
}

namespace loyalty::whatsapp {

/// Job kind that answers one received message (payload {"wamid": "..."}).
inline constexpr const char* kAnswerJob = "whatsapp.answer";

/// What accept() did with a batch.
struct Accepted {
  int queued = 0;      ///< messages kept and queued for an answer
  int duplicates = 0;  ///< messages seen before (a redelivery)
  int statuses = 0;    ///< status updates that changed a notification
  int unrouted = 0;    ///< items for numbers no tenant has (or not allowed): skipped
};

/// Whether a verified body may speak for this business number (false: the body was signed by
/// another number's app secret).
using NumberCheck = std::function<bool(const std::string& phone_number_id)>;

/// Takes a parsed batch whose signature was verified: one transaction per tenant it names.
Accepted accept(db::Database& db, const Batch& batch, const NumberCheck& allowed);

/// Answers a queued message: runs the conversation, queues the reply as a notification (one per
/// wamid) and forgets the message's content. Running it again after it has answered does
/// nothing.
void answer(db::Database& db, const std::string& tenant_id, const std::string& wamid);

/// Registers kAnswerJob with a worker.
void register_handlers(jobs::Worker& worker);

}  // namespace loyalty::whatsapp
