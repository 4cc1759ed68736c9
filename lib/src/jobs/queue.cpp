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

void enqueue_with_commit(db::Tx& tx, const std::string& tenant_id, const std::string& kind,
                         const nlohmann::json& payload) {
  // kEnqueue's statement, its values quoted: it travels in the COMMIT's round trip.
  tx.exec_with_commit("INSERT INTO jobs (tenant_id, kind, payload) VALUES (" + tx.quote(tenant_id) +
                      "::uuid, " + tx.quote(kind) + ", " + tx.quote(payload.dump()) + "::jsonb)");
}

}  // namespace loyalty::jobs
