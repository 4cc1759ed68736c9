// Type=notify: under systemd the daemon says READY=1 on $NOTIFY_SOCKET once it serves, and
// STOPPING=1 when told to stop (the protocol of sd_notify(3), received here on a datagram socket
// as systemd would).
#include "support/daemon.hpp"
#include "support/pg.hpp"
#include "support/process.hpp"

#include <httplib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <csignal>
#include <cstring>
#include <string>

using loyalty::test::Daemon;
using loyalty::test::TempDir;
using loyalty::test::TestDatabase;

namespace {

/// The next datagram on `fd`, or empty after 30 s.
std::string next_message(int fd) {
  timeval timeout{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  char buffer[4096];
  ssize_t n = recv(fd, buffer, sizeof buffer, 0);
  return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

TEST_CASE("notify: the daemon reports READY=1 to systemd once it serves, STOPPING=1 on SIGTERM",
          "[http]") {
  TestDatabase db;
  TempDir dir;
  std::string path = dir.path() + "/notify.sock";
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof address.sun_path);
  std::strcpy(address.sun_path, path.c_str());
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);

  auto daemon = Daemon::over(db, {"--workers", "0"}, {"NOTIFY_SOCKET=" + path});
  std::string ready = next_message(fd);
  CHECK(ready.find("READY=1") != std::string::npos);
  // Ready means serving: a request right after it is answered.
  httplib::Client client("127.0.0.1", daemon.port());
  auto health = client.Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);

  // An external database and no jwt-secrets setting: the daemon warns that its secrets are its
  // host's own (another daemon on this database would refuse its tokens).
  CHECK(daemon.log().find(R"("msg":"auth.jwt_secrets_generated")") != std::string::npos);
  CHECK(daemon.stop(SIGTERM) == 0);
  CHECK(next_message(fd).find("STOPPING=1") != std::string::npos);
  close(fd);
}
