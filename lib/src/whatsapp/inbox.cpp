#include "db/tx.hpp"
#include "jobs/queue.hpp"

#include <loyalty/channels/routes.hpp>
#include <loyalty/core/phone.hpp>
#include <loyalty/jobs/worker.hpp>
#include <loyalty/log/log.hpp>
#include <loyalty/selfservice/conversation.hpp>
#include <loyalty/whatsapp/inbox.hpp>

#include <spdlog/spdlog.h>

#include <map>
#include <optional>
#include <vector>

namespace loyalty::whatsapp {

namespace {

using db::Query;

const Query kKeep{"wa_keep",
                  "INSERT INTO whatsapp_inbox (tenant_id, wamid, message) VALUES ($1::uuid, $2, "
                  "$3::jsonb) ON CONFLICT DO NOTHING RETURNING 1"};
// Statuses move forward only (sent → delivered → read; failed after sent or delivered), so a
// redelivered or late update changes nothing; `read` without `delivered` is normal.
const Query kStatus{"wa_status", R"sql(
UPDATE notifications SET status = $3, error_code = $4, last_error = $5, updated_at = now()
 WHERE tenant_id = $1::uuid AND provider_message_id = $2
   AND CASE $3 WHEN 'delivered' THEN status = 'sent'
               WHEN 'read' THEN status IN ('sent', 'delivered')
               WHEN 'failed' THEN status IN ('sent', 'delivered')
               ELSE false END)sql"};
const Query kPending{"wa_pending",
                     "SELECT message::text FROM whatsapp_inbox WHERE tenant_id = $1::uuid AND "
                     "wamid = $2 AND answered_at IS NULL AND message IS NOT NULL"};
// The reply, once per message; the customer's 24-hour window opens when they write.
const Query kReply{"wa_reply", R"sql(
INSERT INTO notifications (tenant_id, customer_id, channel, template, payload, recipient, reply_to)
SELECT $1::uuid, (SELECT id FROM customers WHERE tenant_id = $1::uuid AND phone = $3), 'whatsapp',
       'reply', $5::jsonb, $4, $2
ON CONFLICT (tenant_id, reply_to) WHERE reply_to IS NOT NULL DO NOTHING)sql"};
const Query kAnswered{"wa_answered",
                      "UPDATE whatsapp_inbox SET message = NULL, answered_at = now() WHERE "
                      "tenant_id = $1::uuid AND wamid = $2"};
const Query kSeen{"wa_seen",
                  "WITH at AS (SELECT least(now(), coalesce(to_timestamp($3::double precision), "
                  "now())) AS t) UPDATE customers SET whatsapp_seen_at = at.t FROM at WHERE "
                  "tenant_id = $1::uuid AND phone = $2 AND (whatsapp_seen_at IS NULL OR "
                  "whatsapp_seen_at < at.t)"};

/// The part of a message the answer needs; kept in whatsapp_inbox until answered.
nlohmann::json kept(const InboundMessage& m) {
  return {{"from", m.from},
          {"type", m.type},
          {"text", m.text},
          {"reply_id", m.reply_id},
          {"timestamp", m.timestamp}};
}

/// The tenant of each business number named in the batch (nullopt: no tenant has it).
std::map<std::string, std::optional<std::string>> tenants_of(db::Database& db, const Batch& batch,
                                                             const NumberCheck& allowed) {
  std::map<std::string, std::optional<std::string>> out;
  auto look = [&](const std::string& number) {
    if (out.count(number)) return;
    std::optional<std::string> tenant;
    if (allowed(number)) {
      if (auto route = channels::find_route(db, "whatsapp", number)) tenant = route->tenant_id;
    }
    out[number] = tenant;
  };
  for (const auto& m : batch.messages) look(m.phone_number_id);
  for (const auto& s : batch.statuses) look(s.phone_number_id);
  return out;
}

/// What an inbound message asks the conversation, or nullopt when it gets no answer: reactions
/// and system notices (a changed number) are not questions.
std::optional<selfservice::Said> said_of(const nlohmann::json& m) {
  const std::string type = m.value("type", std::string());
  if (type == "reaction" || type == "system") return std::nullopt;
  if (type == "text") return selfservice::Said{m.value("text", std::string()), ""};
  if (type == "interactive" || type == "button") {
    return selfservice::Said{m.value("text", std::string()), m.value("reply_id", std::string())};
  }
  // An image, a voice note, a location, an unsupported type: tell them what works.
  return selfservice::Said{"", "help"};
}

}  // namespace

Accepted accept(db::Database& db, const Batch& batch, const NumberCheck& allowed) {
  Accepted out;
  const auto tenants = tenants_of(db, batch, allowed);
  std::map<std::string,
           std::pair<std::vector<const InboundMessage*>, std::vector<const StatusUpdate*>>>
      by_tenant;
  for (const auto& m : batch.messages) {
    if (auto t = tenants.at(m.phone_number_id))
      by_tenant[*t].first.push_back(&m);
    else
      ++out.unrouted;
  }
  for (const auto& s : batch.statuses) {
    if (auto t = tenants.at(s.phone_number_id))
      by_tenant[*t].second.push_back(&s);
    else
      ++out.unrouted;
  }
  if (out.unrouted > 0) {
    spdlog::info(R"("msg":"whatsapp.unrouted","items":{})", out.unrouted);
  }
  for (const auto& [tenant, items] : by_tenant) {
    auto [queued, duplicates, statuses] = db::with_tenant(db, tenant, [&](db::Tx& tx) {
      int q = 0, d = 0, s = 0;
      for (const auto* m : items.first) {
        if (tx.exec(kKeep, tenant, m->wamid, kept(*m).dump()).empty()) {
          ++d;
          continue;
        }
        jobs::enqueue(tx, tenant, kAnswerJob, {{"wamid", m->wamid}});
        ++q;
      }
      for (const auto* st : items.second) {
        std::optional<long long> code;
        std::optional<std::string> error;
        if (!st->errors.empty()) {
          code = st->errors.front().code;
          error = std::to_string(st->errors.front().code) + " " + st->errors.front().title;
        }
        s += static_cast<int>(
            tx.exec(kStatus, tenant, st->wamid, st->status, code, error).affected_rows());
      }
      return std::tuple{q, d, s};
    });
    out.queued += queued;
    out.duplicates += duplicates;
    out.statuses += statuses;
  }
  return out;
}

void answer(db::Database& db, const std::string& tenant_id, const std::string& wamid) {
  auto rows = db::with_tenant(db, tenant_id,
                              [&](db::Tx& tx) { return tx.exec(kPending, tenant_id, wamid); });
  if (rows.empty()) return;  // answered already, or purged
  const auto message = nlohmann::json::parse(rows[0][0].as<std::string>());
  const std::string from = message.value("from", std::string());
  const auto phone = from.empty() ? std::nullopt : try_normalize_phone("+" + from);
  const auto said = said_of(message);
  std::optional<nlohmann::json> reply;
  if (phone && said) {
    const auto m = selfservice::merchant(db, tenant_id);
    reply = selfservice::to_json(selfservice::converse(db, m, *phone, *said, "whatsapp"));
  } else if (!phone) {
    // A username-only sender (no number in the webhook) cannot be matched to a membership,
    // which is keyed by phone.
    spdlog::info(R"("msg":"whatsapp.unanswered","tenant":{},"reason":"no phone number")",
                 log::quote(tenant_id));
  }
  db::with_tenant(db, tenant_id, [&](db::Tx& tx) {
    if (reply) tx.exec(kReply, tenant_id, wamid, *phone, from, reply->dump());
    if (phone) {
      const long long at = message.value("timestamp", 0LL);
      tx.exec(kSeen, tenant_id, *phone,
              at > 0 ? std::optional<double>(static_cast<double>(at)) : std::nullopt);
    }
    tx.exec(kAnswered, tenant_id, wamid);
  });
}

void register_handlers(jobs::Worker& worker) {
  worker.on(kAnswerJob, [](db::Database& db, const jobs::Job& job) {
    const auto wamid = job.payload.value("wamid", std::string());
    if (wamid.empty()) throw jobs::PermanentFailure("whatsapp.answer without a wamid");
    answer(db, job.tenant_id, wamid);
  });
}

}  // namespace loyalty::whatsapp
