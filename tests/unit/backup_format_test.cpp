// The pieces of a backup file that need no database: the tar stream inside it (written and read
// through a pipe, as between pg_dump, loyaltyctl and age) and the connection words handed to
// pg_dump and pg_restore, which must never carry the password.
#include "backup/process.hpp"
#include "backup/tar.hpp"

#include <catch2/catch.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/db/conninfo.hpp>

#include <string>
#include <vector>

using loyalty::backup::make_pipe;
using loyalty::backup::TarReader;
using loyalty::backup::TarWriter;

namespace {

/// Writes members into a pipe and returns what came out of it (small enough for the pipe).
std::string archive(const std::vector<std::pair<std::string, std::string>>& members) {
  auto pipe = make_pipe();
  TarWriter writer(pipe.write.get());
  for (const auto& [name, data] : members) REQUIRE(writer.add(name, data, 1764554400));
  REQUIRE(writer.finish());
  pipe.write.reset();
  std::string out(1 << 16, '\0');
  out.resize(loyalty::backup::read_full(pipe.read.get(), out.data(), out.size()));
  return out;
}

/// Reads an archive back: names and contents, in order.
std::vector<std::pair<std::string, std::string>> unpack(const std::string& bytes) {
  auto pipe = make_pipe();
  REQUIRE(loyalty::backup::write_full(pipe.write.get(), bytes.data(), bytes.size()));
  pipe.write.reset();
  TarReader reader(pipe.read.get());
  std::vector<std::pair<std::string, std::string>> members;
  while (auto m = reader.next()) members.emplace_back(m->name, reader.read_all(1 << 20));
  return members;
}

}  // namespace

TEST_CASE("backup format: tar members of any size come back as written, in 512-byte blocks",
          "[unit]") {
  std::vector<std::pair<std::string, std::string>> members = {
      {"loyalty-backup.json", "{\"format\":\"loyalty-backup\"}"},
      {"roles.sql", ""},
      {"database.dump.000001", std::string(512, 'a')},
      {"database.dump.000002", std::string(513, '\0')},
      {"database.dump.000003", "x"}};
  auto bytes = archive(members);
  CHECK(bytes.size() % 512 == 0);
  // Five headers, the contents padded to blocks (1 + 0 + 1 + 2 + 1), the two-block end marker.
  CHECK(bytes.size() == 512 * (5 + 5 + 2));
  CHECK(bytes.compare(257, 6, std::string("ustar\0", 6)) == 0);
  CHECK(unpack(bytes) == members);
}

TEST_CASE("backup format: a damaged or cut tar stream is refused, never read as shorter data",
          "[unit]") {
  auto bytes = archive({{"roles.sql", std::string(1000, 'r')}});
  auto refused = [](const std::string& damaged, const std::string& why) {
    try {
      unpack(damaged);
      FAIL("read a damaged archive");
    } catch (const loyalty::Error& e) {
      CHECK(e.type() == "backup-format");
      CHECK(std::string(e.what()) == why);
    }
  };
  std::string header_flip = bytes;
  header_flip[10] ^= 1;
  refused(header_flip, "a tar header's checksum is wrong");
  refused(bytes.substr(0, 512 + 700), "the archive ends inside a member");
  refused(bytes.substr(0, 512 + 1024), "the archive ends before its end marker");
  refused(bytes.substr(0, 100), "the archive ends inside a header");
  refused("", "the archive ends before its end marker");
}

TEST_CASE("backup format: connection words for pg_dump hold no password and name the database",
          "[unit]") {
  auto c = loyalty::db::client_connection(
      "postgresql://loyalty:s3cr%27et@db.example:6432/loyalty?sslmode=require", "scratch_1");
  CHECK(c.password == "s3cr'et");
  CHECK(c.dbname == "scratch_1");
  CHECK(c.conninfo.find("s3cr") == std::string::npos);
  CHECK(c.conninfo.find("password") == std::string::npos);
  CHECK(c.conninfo.find("dbname='scratch_1'") != std::string::npos);
  CHECK(c.conninfo.find("host='db.example'") != std::string::npos);
  CHECK(c.conninfo.find("port='6432'") != std::string::npos);
  CHECK(c.conninfo.find("sslmode='require'") != std::string::npos);

  // The embedded cluster's URL: a socket directory, no password.
  auto embedded = loyalty::db::client_connection(
      "postgresql:///loyalty?host=%2Ftmp%2Floyalty-x&port=5432&user=loyalty_owner");
  CHECK(embedded.password.empty());
  CHECK(embedded.dbname == "loyalty");
  CHECK(embedded.conninfo.find("host='/tmp/loyalty-x'") != std::string::npos);

  // For this process's own connections the password stays, quoted.
  auto own = loyalty::db::url_for_database("host=h user=u password='a b\\'c' dbname=x", "y");
  CHECK(own.find("dbname='y'") != std::string::npos);
  CHECK(own.find("password='a b\\'c'") != std::string::npos);

  CHECK_THROWS_AS(loyalty::db::client_connection("postgresql://[::1"), loyalty::Error);
  CHECK_THROWS_WITH(loyalty::db::client_connection("host=h password=topsecret bogus=1"),
                    Catch::Contains("cannot be parsed") && !Catch::Contains("topsecret"));
}
