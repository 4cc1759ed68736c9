// loyaltyctl backup: create → verify → restore into a fresh cluster served by the daemon;
// damaged files, a wrong key, an empty dump and an odd size fail verify with one clear line;
// restore --force over a live database; prune.
#include "support/api.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>
#include <loyalty/budgets/budgets.hpp>
#include <loyalty/core/crypto.hpp>
#include <loyalty/db/migrations.hpp>
#include <loyalty/rewards/rewards.hpp>
#include <loyalty/rulesets/rulesets.hpp>
#include <loyalty/tenants/tenants.hpp>
#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <utime.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using loyalty::test::Api;
using loyalty::test::ApiResponse;
using loyalty::test::CommandResult;
using loyalty::test::Daemon;
using loyalty::test::loyaltyctl;
using loyalty::test::run_command;
using loyalty::test::sql_value;
using loyalty::test::TempDir;
using loyalty::test::TestDatabase;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kDaemonArgs = {"--workers",       "0", "--rate-limit", "0",
                                              "--rate-limit-ip", "0"};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

struct AgeKey {
  std::string identity;   ///< path of the private key file
  std::string recipient;  ///< its public key
};

/// A key pair made by age-keygen, as an operator makes one.
AgeKey make_key(const std::string& dir, const std::string& name) {
  AgeKey key{dir + "/" + name + ".txt", ""};
  auto r = run_command({"/usr/bin/age-keygen", "-o", key.identity});
  REQUIRE(r.exit_code == 0);
  auto at = r.err.find("age1");
  REQUIRE(at != std::string::npos);
  key.recipient = r.err.substr(at, r.err.find_first_of("\r\n", at) - at);
  return key;
}

/// One line on stderr, nothing else: what the operator sees.
bool one_line(const std::string& err) {
  return !err.empty() && err.back() == '\n' && std::count(err.begin(), err.end(), '\n') == 1;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string manifest_of(const std::string& backup) {
  return backup.substr(0, backup.size() - std::string(".backup.age").size()) + ".manifest.json";
}

/// Copies a backup and its manifest under another name, optionally changing the copy's bytes
/// (`edit`) and bringing its manifest's size and checksum up to date (`reseal`): damage the
/// checksum cannot see, as if the file had been damaged before the manifest was written.
std::string copy_backup(const std::string& backup, const std::string& dir, const std::string& stamp,
                        const std::function<void(std::string&)>& edit = nullptr,
                        bool reseal = false) {
  std::string copy = dir + "/loyalty-" + stamp + ".backup.age";
  std::string data = slurp(backup);
  if (edit) edit(data);
  spit(copy, data);
  auto manifest = json::parse(slurp(manifest_of(backup)));
  if (reseal) {
    manifest["size"] = data.size();
    manifest["sha256"] = loyalty::crypto::sha256_hex(data);
  }
  spit(manifest_of(copy), manifest.dump(2));
  return copy;
}

/// A tenant whose purchases of $50 or more earn $1 off from a hard-capped budget.
struct Shop {
  std::string tenant_id;
  std::string pos_key;
};

Shop make_shop(TestDatabase& db, const std::string& slug) {
  loyalty::tenants::CreateTenantRequest req;
  req.name = "Shop " + slug;
  req.slug = slug;
  req.admin_email = "admin@" + slug + ".example";
  auto created = loyalty::tenants::create_tenant(db.owner(), req);
  Shop shop{created.tenant.id, *created.api_key};
  auto actor = loyalty::Actor::operator_cli();
  loyalty::budgets::create_budget(
      db.owner(), shop.tenant_id, actor,
      {{"name", "main"}, {"currency", "USD"}, {"total", "100.00"}, {"hard_cap", true}});
  loyalty::rewards::create_reward(db.owner(), shop.tenant_id, actor,
                                  {{"name", "dollar-off"},
                                   {"type", "discount"},
                                   {"cost", "1.00"},
                                   {"currency", "USD"},
                                   {"config", {{"kind", "fixed"}, {"amount", "1.00"}}}});
  loyalty::rulesets::import_rules(db.owner(), shop.tenant_id, actor,
                                  {{"rules",
                                    {{{"name", "spend 50"},
                                      {"event_type", "purchase"},
                                      {"conditions", {{">=", {{{"var", "event.amount"}}, 50}}}},
                                      {"reward", "dollar-off"},
                                      {"budget", "main"}}}}},
                                  {});
  return shop;
}

const json kPurchase = {{"customer", {{"phone", "0771 234 567"}}},
                        {"type", "purchase"},
                        {"occurred_at", "2026-11-24T10:15:00Z"},
                        {"data", {{"amount", "62.50"}, {"currency", "USD"}, {"store", "HRE-01"}}}};

ApiResponse post_purchase(Api& api, const Shop& shop, const std::string& key) {
  return api.send("POST", "/v1/tenants/" + shop.tenant_id + "/events", kPurchase.dump(),
                  "application/json", shop.pos_key, {{"Idempotency-Key", key}});
}

bool replayed(const ApiResponse& res) {
  auto h = res.headers.find("Idempotent-Replayed");
  return h != res.headers.end() && h->second == "true";
}

/// An embedded cluster of its own under a temporary directory, stopped at the end.
class FreshCluster {
 public:
  FreshCluster() : data_(dir_.path() + "/var") {
    auto r = ctl({"db", "start"});
    if (r.exit_code != 0) throw std::runtime_error("db start failed: " + r.err);
  }
  ~FreshCluster() { ctl({"db", "stop"}); }
  CommandResult ctl(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {LOYALTYCTL_PATH, "--data-dir", data_});
    return run_command(args, input);
  }
  const std::string& data_dir() const { return data_; }

 private:
  TempDir dir_;
  std::string data_;
};

/// Creates a backup of `db` into `dir` and returns its path (the one line create prints).
std::string create_backup(TestDatabase& db, const std::string& dir, const AgeKey& key) {
  auto r =
      loyaltyctl(db.owner_url(), {"backup", "create", "--dir", dir, "--recipient", key.recipient});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(!r.out.empty());
  return r.out.substr(0, r.out.size() - 1);
}

}  // namespace

TEST_CASE(
    "backup: create, verify, restore into a fresh cluster, and the daemon there serves the "
    "restored "
    "data and answers a replayed POS event byte for byte as before",
    "[cli]") {
  TempDir work;
  auto key = make_key(work.path(), "key");
  TestDatabase db;
  auto shop = make_shop(db, "backup-shop");
  ApiResponse original;
  {
    auto daemon = Daemon::over(db, kDaemonArgs);
    Api api(daemon.port());
    original = post_purchase(api, shop, "till-7-000123");
    REQUIRE(original.status == 201);
    REQUIRE(original.body["issuances"].size() == 1);
  }

  std::string dir = work.path() + "/backups";
  std::string file = create_backup(db, dir, key);
  CHECK(fs::path(file).parent_path() == fs::path(dir));
  CHECK(fs::path(file).filename().string().rfind("loyalty-", 0) == 0);
  // The backup and its manifest, nothing else: no plaintext dump, no temporary file.
  CHECK(files_in(dir) == std::vector<std::string>{fs::path(file).filename().string(),
                                                  fs::path(manifest_of(file)).filename().string()});
  CHECK((fs::status(file).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));
  std::string data = slurp(file);
  CHECK(data.rfind("age-encryption.org/v1", 0) == 0);
  CHECK(data.find("263771234567") == std::string::npos);
  CHECK(data.find("PGDMP") == std::string::npos);

  auto manifest = json::parse(slurp(manifest_of(file)));
  CHECK(manifest["format_version"] == 1);
  CHECK(manifest["schema_version"] == loyalty::db::embedded_migrations().back().name);
  CHECK(manifest["size"] == data.size());
  CHECK(manifest["sha256"] == loyalty::crypto::sha256_hex(data));
  CHECK(manifest["file"] == fs::path(file).filename().string());
  CHECK(manifest["row_counts"]["events"] == 1);
  CHECK(manifest["row_counts"]["tenants"] ==
        std::stoll(sql_value(db.owner(), "SELECT count(*) FROM tenants")));
  CHECK(manifest["row_counts"]["issuances"] == 1);
  CHECK(manifest["ledger"]["movements"] ==
        std::stoll(sql_value(db.owner(), "SELECT count(*) FROM ledger_movements")));
  CHECK(manifest["ledger"]["budgets"]["USD"]["reserved_minor"] == "100");
  CHECK(manifest["ledger"]["budgets"]["USD"]["total_minor"] == "10000");
  CHECK(manifest["created_at"].get<std::string>().size() == 20);

  // The operator's way without loyaltyctl: age and tar.
  auto listing =
      run_command({"/bin/sh", "-c", "age -d -i \"$0\" \"$1\" | tar -tf -", key.identity, file});
  CHECK(listing.exit_code == 0);
  CHECK(listing.out == "loyalty-backup.json\nroles.sql\ndatabase.dump.000001\n");

  auto verified =
      loyaltyctl(db.owner_url(), {"backup", "verify", file, "--identity", key.identity, "--json"});
  INFO(verified.err);
  REQUIRE(verified.exit_code == 0);
  auto report = json::parse(verified.out);
  CHECK(report["rows"].get<std::int64_t>() > 0);
  CHECK(report["ledger"]["budgets"] >= 1);
  CHECK(report["forced_rls_tables"].get<int>() >= 20);
  CHECK(report["policies"].get<int>() > 0);
  CHECK(report["grants"].get<int>() > 0);

  FreshCluster cluster;
  auto restored = cluster.ctl({"backup", "restore", file, "--identity", key.identity});
  INFO(restored.err);
  REQUIRE(restored.exit_code == 0);
  CHECK(restored.out.find("restored " + file + " into loyalty") != std::string::npos);
  CHECK(restored.err.empty());
  // The roles came back with it, as the migrations made them.
  auto roles = cluster.ctl({"db", "url"});
  REQUIRE(roles.exit_code == 0);
  auto fresh_owner = loyalty::db::Database::open_url(roles.out.substr(0, roles.out.size() - 1), 2);
  CHECK(sql_value(*fresh_owner,
                  "SELECT string_agg(rolname || ':' || rolcanlogin || ':' || rolbypassrls, ',' "
                  "ORDER BY rolname) FROM pg_roles WHERE rolname IN ('loyalty_app', "
                  "'loyalty_backup', 'loyalty_definer')") ==
        "loyalty_app:true:false,loyalty_backup:false:true,loyalty_definer:false:false");
  CHECK(sql_value(*fresh_owner, "SELECT count(*) FROM events") == "1");
  CHECK(loyalty::budgets::verify_ledger(*fresh_owner, "").ok());
  fresh_owner.reset();

  // A second restore into the now populated database is refused.
  auto again = cluster.ctl({"backup", "restore", file, "--identity", key.identity});
  CHECK(again.exit_code == 4);
  CHECK(one_line(again.err));
  CHECK(again.err.find("is not empty") != std::string::npos);

  Daemon daemon({"--data-dir", cluster.data_dir(), "--workers", "0", "--rate-limit", "0",
                 "--rate-limit-ip", "0"});
  Api api(daemon.port());
  auto replay = post_purchase(api, shop, "till-7-000123");
  CHECK(replay.status == original.status);
  CHECK(replay.raw == original.raw);
  CHECK(replayed(replay));
  auto customers = api.get("/v1/tenants/" + shop.tenant_id + "/customers?limit=10", shop.pos_key);
  REQUIRE(customers.status == 200);
  REQUIRE(customers.body["items"].size() == 1);
  CHECK(customers.body["items"][0]["phone"] == "+263771234567");
  CHECK(customers.body["items"][0]["id"] == original.body["customer"]["id"]);
  // The same key with another body is still refused there: the key survived the restore.
  auto other = api.send("POST", "/v1/tenants/" + shop.tenant_id + "/events",
                        json{{"customer", {{"phone", "0771 234 567"}}},
                             {"type", "purchase"},
                             {"data", {{"amount", "70.00"}, {"currency", "USD"}}}}
                            .dump(),
                        "application/json", shop.pos_key, {{"Idempotency-Key", "till-7-000123"}});
  CHECK(other.status == 422);
}

TEST_CASE(
    "backup: verify fails with one line naming what failed for a damaged file, a truncated "
    "file, a wrong identity, an empty dump and a size far off the recent median",
    "[cli]") {
  TempDir work;
  auto key = make_key(work.path(), "key");
  auto stranger = make_key(work.path(), "stranger");
  TestDatabase db;
  make_shop(db, "verify-shop");
  std::string file = create_backup(db, work.path() + "/backups", key);
  std::string odd = work.path() + "/odd";
  fs::create_directories(odd);

  auto verify = [&](const std::string& path, const std::string& identity) {
    auto r = loyaltyctl(db.owner_url(), {"backup", "verify", path, "--identity", identity});
    INFO(path << ": " << r.err);
    CHECK(r.exit_code == 4);
    CHECK(one_line(r.err));
    CHECK(r.err.rfind("loyaltyctl: backup verify failed: ", 0) == 0);
    CHECK(r.out.empty());
    return r.err;
  };
  auto flip = [](std::string& d) { d[d.size() / 2] = static_cast<char>(d[d.size() / 2] ^ 0x40); };
  auto cut = [](std::string& d) { d.resize(d.size() * 2 / 3); };

  CHECK(verify(copy_backup(file, odd, "20260101T000001Z", flip), key.identity)
            .find("checksum mismatch") != std::string::npos);
  CHECK(verify(copy_backup(file, odd, "20260101T000002Z", flip, true), key.identity)
            .find("decryption failed: age: error: failed to decrypt and authenticate payload "
                  "chunk") != std::string::npos);
  CHECK(
      verify(copy_backup(file, odd, "20260101T000003Z", cut), key.identity).find("size mismatch") !=
      std::string::npos);
  CHECK(verify(copy_backup(file, odd, "20260101T000004Z", cut, true), key.identity)
            .find("decryption failed: age: error:") != std::string::npos);
  CHECK(verify(file, stranger.identity)
            .find("decryption failed: age: error: no identity matched any of the recipients") !=
        std::string::npos);
  CHECK(verify(copy_backup(
                   file, odd, "20260101T000005Z", [](std::string& d) { d.clear(); }, true),
               key.identity)
            .find("the file is empty") != std::string::npos);
  fs::remove(manifest_of(copy_backup(file, odd, "20260101T000006Z")));
  CHECK(verify(odd + "/loyalty-20260101T000006Z.backup.age", key.identity)
            .find("no manifest beside the file") != std::string::npos);

  // An empty dump: a well-formed, encrypted backup whose dump has no bytes.
  std::string unpacked = work.path() + "/unpacked";
  fs::create_directories(unpacked);
  REQUIRE(run_command({"/bin/sh", "-c",
                       "age -d -i \"$0\" \"$1\" | tar -xf - -C \"$2\" && cd \"$2\" && "
                       "tar --format=ustar -cf - loyalty-backup.json roles.sql | age -r \"$3\" "
                       "> \"$4\"",
                       key.identity, file, unpacked, key.recipient,
                       odd + "/loyalty-20260101T000007Z.backup.age"})
              .exit_code == 0);
  {
    std::string empty = odd + "/loyalty-20260101T000007Z.backup.age";
    std::string bytes = slurp(empty);
    auto manifest = json::parse(slurp(manifest_of(file)));
    manifest["size"] = bytes.size();
    manifest["sha256"] = loyalty::crypto::sha256_hex(bytes);
    spit(manifest_of(empty), manifest.dump());
    CHECK(verify(empty, key.identity).find("the dump is empty") != std::string::npos);
  }

  // Seven earlier backups ten times the size: this one is more than half off their median.
  std::string history = work.path() + "/history";
  fs::create_directories(history);
  auto manifest = json::parse(slurp(manifest_of(file)));
  std::int64_t size = manifest["size"];
  auto earlier = [&](int day, std::int64_t bytes) {
    json m = manifest;
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "202601%02dT020000Z", day);
    m["created_at"] = "2026-01-" + std::string(stamp + 6, 2) + "T02:00:00Z";
    m["size"] = bytes;
    spit(history + "/loyalty-" + stamp + ".manifest.json", m.dump());
  };
  earlier(1, size);  // an older one of the right size: not among the last seven
  for (int day = 2; day <= 8; ++day) earlier(day, size * 10);
  std::string copy = copy_backup(file, history, "20990101T020000Z");
  std::string err = verify(copy, key.identity);
  CHECK(err.find("size anomaly: " + std::to_string(size) +
                 " bytes is more than half off the "
                 "median (" +
                 std::to_string(size * 10) + " bytes) of the last 7 backups") != std::string::npos);
  // Sizes within half of the median pass.
  for (int day = 2; day <= 8; ++day) earlier(day, size + (day - 5) * size / 10);
  auto ok = loyaltyctl(db.owner_url(), {"backup", "verify", copy, "--identity", key.identity});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.rfind("backup ok: " + copy + ": ", 0) == 0);

  // A missing file or key is not found (3), with the settings' names in the message.
  auto missing = loyaltyctl(db.owner_url(), {"backup", "verify", work.path() + "/nothing.age",
                                             "--identity", key.identity});
  CHECK(missing.exit_code == 3);
  CHECK(one_line(missing.err));
  auto no_key = loyaltyctl(db.owner_url(), {"backup", "verify", file});
  CHECK(no_key.exit_code == 2);
  CHECK(no_key.err.find("LOYALTY_BACKUP_IDENTITY") != std::string::npos);
  // The identity's contents never reach the output.
  std::string secret = slurp(key.identity);
  auto line = secret.find("AGE-SECRET-KEY-");
  REQUIRE(line != std::string::npos);
  CHECK(ok.out.find(secret.substr(line, 30)) == std::string::npos);
  CHECK(err.find(secret.substr(line, 30)) == std::string::npos);
}

TEST_CASE(
    "backup: create takes its settings from the environment, refuses bad input and leaves no "
    "file behind when a step fails",
    "[cli]") {
  TempDir work;
  auto key = make_key(work.path(), "key");
  TestDatabase db;
  make_shop(db, "create-shop");
  std::string dir = work.path() + "/backups";

  auto no_dir = loyaltyctl(db.owner_url(), {"backup", "create", "--recipient", key.recipient});
  CHECK(no_dir.exit_code == 2);
  CHECK(no_dir.err.find("LOYALTY_BACKUP_DIR") != std::string::npos);
  auto no_key = loyaltyctl(db.owner_url(), {"backup", "create", "--dir", dir});
  CHECK(no_key.exit_code == 2);
  CHECK(no_key.err.find("LOYALTY_BACKUP_RECIPIENT") != std::string::npos);

  auto bad =
      loyaltyctl(db.owner_url(), {"backup", "create", "--dir", dir, "--recipient", "age1notakey"});
  CHECK(bad.exit_code == 5);
  CHECK(one_line(bad.err));
  CHECK(bad.err.find("age failed: ") != std::string::npos);
  CHECK(files_in(dir).empty());

  // The backup role must be able to read every table, or nothing is written.
  sql_value(db.owner(), "REVOKE SELECT ON customers FROM loyalty_backup");
  auto blind =
      loyaltyctl(db.owner_url(), {"backup", "create", "--dir", dir, "--recipient", key.recipient});
  CHECK(blind.exit_code == 5);
  CHECK(one_line(blind.err));
  CHECK(blind.err.find("loyalty_backup cannot read every table") != std::string::npos);
  CHECK(files_in(dir).empty());
  sql_value(db.owner(), "GRANT SELECT ON customers TO loyalty_backup");

  // The settings a timer uses: LOYALTY_BACKUP_DIR and LOYALTY_BACKUP_RECIPIENT.
  auto timer =
      run_command({LOYALTYCTL_PATH, "--database-url", db.owner_url(), "backup", "create", "--json"},
                  "", {"LOYALTY_BACKUP_DIR=" + dir, "LOYALTY_BACKUP_RECIPIENT=" + key.recipient});
  INFO(timer.err);
  REQUIRE(timer.exit_code == 0);
  auto out = json::parse(timer.out);
  CHECK(fs::exists(out["path"].get<std::string>()));
  CHECK(out["manifest"]["row_counts"]["tenants"] >= 1);
  CHECK(files_in(dir).size() == 2);
  // A second backup in the same second gets a name of its own.
  auto second =
      loyaltyctl(db.owner_url(), {"backup", "create", "--dir", dir, "--recipient", key.recipient});
  REQUIRE(second.exit_code == 0);
  CHECK(files_in(dir).size() == 4);
  auto latest = run_command(
      {LOYALTYCTL_PATH, "--database-url", db.owner_url(), "backup", "verify", "--latest"}, "",
      {"LOYALTY_BACKUP_DIR=" + dir, "LOYALTY_BACKUP_IDENTITY=" + key.identity});
  INFO(latest.err);
  CHECK(latest.exit_code == 0);
  CHECK(latest.out.find(second.out.substr(0, second.out.size() - 1)) != std::string::npos);
}

TEST_CASE(
    "backup: restore --force replaces a database only once confirmed and only with a copy that "
    "checks out",
    "[cli]") {
  TempDir work;
  auto key = make_key(work.path(), "key");
  TestDatabase db;
  make_shop(db, "first-shop");
  std::string file = create_backup(db, work.path() + "/backups", key);
  make_shop(db, "second-shop");
  auto tenants = [&] {
    return sql_value(db.owner(), "SELECT string_agg(slug, ',' ORDER BY slug) FROM tenants");
  };
  REQUIRE(tenants() == "first-shop,second-shop");

  auto refused =
      loyaltyctl(db.owner_url(), {"backup", "restore", file, "--identity", key.identity});
  CHECK(refused.exit_code == 4);
  CHECK(refused.err.find("is not empty (2 tenants): restore over it with --force") !=
        std::string::npos);
  // No terminal to ask on and no --yes: refused, nothing changed.
  auto unasked = loyaltyctl(db.owner_url(),
                            {"backup", "restore", file, "--identity", key.identity, "--force"});
  CHECK(unasked.exit_code == 2);
  CHECK(one_line(unasked.err));
  CHECK(unasked.err.find("without a terminal to confirm on: pass --yes") != std::string::npos);
  CHECK(tenants() == "first-shop,second-shop");

  // A damaged backup is caught on the copy; the live database is untouched.
  std::string damaged = copy_backup(
      file, work.path(), "20260101T000001Z", [](std::string& d) { d.resize(d.size() - 100); },
      true);
  auto bad = loyaltyctl(db.owner_url(), {"backup", "restore", damaged, "--identity", key.identity,
                                         "--force", "--yes"});
  CHECK(bad.exit_code == 4);
  CHECK(one_line(bad.err));
  CHECK(bad.err.find("restore failed: decryption failed") != std::string::npos);
  CHECK(tenants() == "first-shop,second-shop");

  auto forced = loyaltyctl(db.owner_url(), {"backup", "restore", file, "--identity", key.identity,
                                            "--force", "--yes", "--json"});
  INFO(forced.err);
  REQUIRE(forced.exit_code == 0);
  auto report = json::parse(forced.out);
  CHECK(report["replaced"] == true);
  CHECK(report["database"] == db.name());
  CHECK(tenants() == "first-shop");
  CHECK(sql_value(db.owner(), "SELECT count(*) FROM pg_database WHERE datname LIKE '" + db.name() +
                                  "\\_%'") == "0");
}

TEST_CASE(
    "backup: prune keeps the newest backup of each of the last N days and M months and removes "
    "the rest with their manifests",
    "[cli]") {
  TempDir work;
  std::string dir = work.path();
  const std::vector<std::string> stamps = {
      "20261201T140000Z", "20261201T020000Z", "20261130T020000Z",
      "20261129T020000Z", "20261128T020000Z", "20261115T020000Z",
      "20261031T020000Z", "20261001T020000Z", "20260910T020000Z"};
  for (const auto& s : stamps) {
    spit(dir + "/loyalty-" + s + ".backup.age", "x");
    spit(dir + "/loyalty-" + s + ".manifest.json", "{}");
  }
  spit(dir + "/notes.txt", "not a backup");
  spit(dir + "/.loyalty-20261125T020000Z-77.partial", "a create that died");
  spit(dir + "/.loyalty-20261201T150000Z-78.partial", "a create running now");
  struct utimbuf old {};
  old.actime = old.modtime = time(nullptr) - 3 * 24 * 3600;
  utime((dir + "/.loyalty-20261125T020000Z-77.partial").c_str(), &old);

  auto dry = run_command({LOYALTYCTL_PATH, "backup", "prune", "--dir", dir, "--keep-daily", "3",
                          "--keep-monthly", "3", "--dry-run"});
  CHECK(dry.exit_code == 0);
  CHECK(dry.out.find("would remove loyalty-20261128T020000Z.backup.age\n") != std::string::npos);
  CHECK(files_in(dir).size() == 2 * stamps.size() + 3);

  auto pruned = run_command({LOYALTYCTL_PATH, "backup", "prune", "--dir", dir, "--keep-daily", "3",
                             "--keep-monthly", "3"});
  INFO(pruned.err);
  REQUIRE(pruned.exit_code == 0);
  // Days: 12-01 (its newest), 11-30, 11-29; months: December and November are kept already,
  // October's newest is 10-31.
  std::vector<std::string> expected;
  for (const char* s :
       {"20261031T020000Z", "20261129T020000Z", "20261130T020000Z", "20261201T140000Z"}) {
    expected.push_back(std::string("loyalty-") + s + ".backup.age");
    expected.push_back(std::string("loyalty-") + s + ".manifest.json");
  }
  expected.push_back(".loyalty-20261201T150000Z-78.partial");
  expected.push_back("notes.txt");
  std::sort(expected.begin(), expected.end());
  CHECK(files_in(dir) == expected);
  CHECK(pruned.out ==
        "removed loyalty-20261201T020000Z.backup.age\n"
        "removed loyalty-20261201T020000Z.manifest.json\n"
        "removed loyalty-20261128T020000Z.backup.age\n"
        "removed loyalty-20261128T020000Z.manifest.json\n"
        "removed loyalty-20261115T020000Z.backup.age\n"
        "removed loyalty-20261115T020000Z.manifest.json\n"
        "removed loyalty-20261001T020000Z.backup.age\n"
        "removed loyalty-20261001T020000Z.manifest.json\n"
        "removed loyalty-20260910T020000Z.backup.age\n"
        "removed loyalty-20260910T020000Z.manifest.json\n"
        "removed .loyalty-20261125T020000Z-77.partial\n"
        "kept 4 backups\n");

  // Again: nothing more to remove (safe to run from cron as often as wanted).
  auto again = run_command({LOYALTYCTL_PATH, "backup", "prune", "--dir", dir, "--keep-daily", "3",
                            "--keep-monthly", "3"});
  CHECK(again.exit_code == 0);
  CHECK(again.out == "kept 4 backups\n");

  auto nothing = run_command({LOYALTYCTL_PATH, "backup", "prune", "--dir", dir});
  CHECK(nothing.exit_code == 2);
  CHECK(nothing.err.find("would delete every backup") != std::string::npos);
  CHECK(files_in(dir) == expected);
}
