// The systemd units' commands are real: every loyaltyctl command line in deploy/systemd/*.service
// runs, as written (with the unit's paths moved to a scratch directory), against a migrated
// database and succeeds. A renamed subcommand or flag fails here, not in an operator's journal.
#include "support/pg.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

using loyalty::test::run_command;
using loyalty::test::TempDir;
using loyalty::test::TestDatabase;

namespace {

struct UnitCommand {
  std::string unit;
  std::vector<std::string> argv;
};

std::string replaced(std::string word, const std::string& from, const std::string& to) {
  return word == from ? to : word;
}

/// Every ExecStart=/ExecStartPost= line of the units that runs loyaltyctl, split into words.
std::vector<UnitCommand> unit_commands(const std::string& config, const std::string& data_dir) {
  std::vector<UnitCommand> commands;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(LOYALTY_SOURCE_DIR) + "/deploy/systemd")) {
    if (entry.path().extension() != ".service") continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("ExecStart=", 0) != 0 && line.rfind("ExecStartPost=", 0) != 0) continue;
      std::istringstream words(line.substr(line.find('=') + 1));
      UnitCommand command{entry.path().filename().string(), {}};
      std::string word;
      while (words >> word) {
        word = replaced(word, "/usr/bin/loyaltyctl", LOYALTYCTL_PATH);
        word = replaced(word, "/etc/loyalty/loyalty.conf", config);
        word = replaced(word, "/var/lib/loyalty", data_dir);
        command.argv.push_back(word);
      }
      if (command.argv.front() == LOYALTYCTL_PATH) commands.push_back(command);
    }
  }
  // A backup must exist before the weekly verify of the newest one runs.
  std::stable_sort(commands.begin(), commands.end(), [](const auto& a, const auto& b) {
    return a.unit.find("verify") == std::string::npos && b.unit.find("verify") != std::string::npos;
  });
  return commands;
}

}  // namespace

TEST_CASE("deploy: every loyaltyctl command of the systemd units runs against a database",
          "[cli]") {
  TestDatabase db;
  TempDir dir;
  auto keygen = run_command({"/usr/bin/age-keygen", "-o", dir.path() + "/backup-key.txt"});
  REQUIRE(keygen.exit_code == 0);
  auto at = keygen.err.find("age1");
  REQUIRE(at != std::string::npos);
  std::string recipient = keygen.err.substr(at, keygen.err.find_first_of("\r\n", at) - at);
  std::filesystem::create_directories(dir.path() + "/backups");
  std::string config = dir.path() + "/loyalty.conf";
  {
    std::ofstream out(config);
    out << "LOYALTY_DATABASE_URL=" << db.owner_url() << "\n"
        << "backup-dir=" << dir.path() << "/backups\n"
        << "backup-recipient=" << recipient << "\n"
        << "backup-identity=" << dir.path() << "/backup-key.txt\n";
  }

  auto commands = unit_commands(config, dir.path() + "/data");
  std::vector<std::string> units;
  for (const auto& command : commands) units.push_back(command.unit);
  // One command per timer, and the backup's prune after its create.
  CHECK(commands.size() == 7);
  for (const char* unit : {"loyalty-expire.service", "loyalty-jobs-purge.service",
                           "loyalty-webhook-purge.service", "loyalty-backup.service",
                           "loyalty-backup-verify.service", "loyalty-ledger-verify.service"}) {
    CHECK(std::count(units.begin(), units.end(), unit) >= 1);
  }
  for (const auto& command : commands) {
    auto result = run_command(command.argv);
    INFO(command.unit << ": " << result.err);
    CHECK(result.exit_code == 0);
    if (command.unit == "loyalty-backup-verify.service") {
      CHECK(result.out.rfind("backup ok: " + dir.path() + "/backups/", 0) == 0);
    }
  }
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path() + "/backups"),
                      std::filesystem::directory_iterator()) == 2);  // the backup and manifest
}
