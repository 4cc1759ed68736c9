#include "jobs/queue.hpp"

namespace loyalty::jobs {

namespace {
const db::Query kEnqueue{"jobs_enqueue",
                         "INSERT INTO jobs (tenant_id, kind, payload) VALUES ($1::uuid, $2, "
                         "$3::jsonb)"};
}  // namespace

void enqueue(db::Tx& tx, const std::string& tenant_id, const std::string& kind,
             const nlohmann::json& payload) {
  tx.exec(kEnqueue, tenant_id, kind, payload.dump());
}

void enqueue_all_with_commit(db::Tx& tx, const std::string& tenant_id, const std::string& kind,
                             const std::vector<nlohmann::json>& payloads) {
  if (payloads.empty()) return;
  std::vector<std::string> texts;
  texts.reserve(payloads.size());
  for (const auto& p : payloads) texts.push_back(p.dump());
  tx.exec_with_commit("INSERT INTO jobs (tenant_id, kind, payload) SELECT " + tx.quote(tenant_id) +
                      "::uuid, " + tx.quote(kind) + ", p::jsonb FROM unnest(" +
                      tx.quote(db::text_array_literal(texts)) + "::text[]) AS p");
}

}  // namespace loyalty::jobs
