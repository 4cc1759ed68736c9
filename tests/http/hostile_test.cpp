// The HTTP edge against what strangers send: slow and idle clients, too many connections, huge
// and compressed bodies, oversized heads, broken requests. Each case drives the real daemon
// over raw sockets and checks what a client sees.
#include "support/compress.hpp"
#include "support/daemon.hpp"
#include "support/pg.hpp"
#include "support/raw_http.hpp"

#include <httplib.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <thread>

using loyalty::test::Daemon;
using loyalty::test::RawConnection;
using loyalty::test::RawResponse;
using loyalty::test::TestDatabase;
using namespace std::chrono_literals;

namespace {

std::string login_head(std::size_t length, const std::string& extra = "") {
  return "POST /public/auth/login HTTP/1.1\r\nHost: loyalty\r\nContent-Type: application/json\r\n" +
         extra + "Content-Length: " + std::to_string(length) + "\r\n\r\n";
}

const std::string kLogin = R"({"email":"nobody@example.com","password":"not-the-password"})";

/// The problem type's last segment of a problem+json answer.
std::string problem_type(const RawResponse& response) {
  CHECK(response.headers.at("content-type") == "application/problem+json");
  auto type = nlohmann::json::parse(response.body).at("type").get<std::string>();
  return type.substr(type.rfind('/') + 1);
}

RawResponse exchange(int port, const std::string& bytes) {
  RawConnection connection(port);
  connection.send(bytes);
  auto response = connection.read_response(10s);
  REQUIRE(response);
  return *response;
}

bool health_ok(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(10, 0);
  auto r = client.Get("/health");
  return r && r->status == 200;
}

std::string gzip_of_zeros(std::size_t size) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
  std::string zeros(1 << 20, '\0'), out;
  char chunk[65536];
  for (std::size_t done = 0; done < size; done += zeros.size()) {
    bool last = done + zeros.size() >= size;
    z.next_in = reinterpret_cast<Bytef*>(zeros.data());
    z.avail_in = static_cast<uInt>(zeros.size());
    do {
      z.next_out = reinterpret_cast<Bytef*>(chunk);
      z.avail_out = sizeof chunk;
      deflate(&z, last ? Z_FINISH : Z_NO_FLUSH);
      out.append(chunk, sizeof chunk - z.avail_out);
    } while (z.avail_out == 0);
  }
  deflateEnd(&z);
  return out;
}

std::string gzip(const std::string& text) { return loyalty::test::deflate_with(text, 15 + 16); }

/// 809 bytes of brotli that expand to 1 GiB of zeros (made once with quality 5, window 24).
std::string brotli_bomb() {
  std::ifstream in(std::string(LOYALTY_SOURCE_DIR) + "/tests/data/bombs/zeros-1gib.br",
                   std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE(
    "http: clients that trickle their requests are cut at the deadline while others are "
    "served",
    "[http]") {
  TestDatabase db;
  // Ten slow clients per handler thread: under a thread-per-connection server they would hold
  // every thread and nobody else would be answered.
  auto daemon = Daemon::over(
      db, {"--http-threads", "4", "--request-timeout", "2", "--keep-alive-timeout", "2"});
  const std::string head = login_head(kLogin.size());
  std::vector<RawConnection> slow;
  for (int i = 0; i < 40; ++i) slow.emplace_back(daemon.port());
  std::vector<bool> open(slow.size(), true);
  std::size_t sent = 0, still_open = slow.size();
  // One byte every 300 ms: the whole head would take about 30 s.
  while (still_open > 0 && sent < head.size()) {
    for (std::size_t i = 0; i < slow.size(); ++i) {
      if (!open[i]) continue;
      if (slow[i].closed_by_peer(1ms) || !slow[i].send(head.substr(sent, 1))) {
        open[i] = false;
        --still_open;
      }
    }
    ++sent;
    CHECK(health_ok(daemon.port()));  // others are served meanwhile
    std::this_thread::sleep_for(300ms);
  }
  CHECK(still_open == 0);
  CHECK(sent < head.size());  // no slow client got its head through
  CHECK(health_ok(daemon.port()));

  httplib::Client client("127.0.0.1", daemon.port());
  auto metrics = client.Get("/metrics");
  REQUIRE(metrics);
  const std::string counter = "loyalty_http_connections_total{outcome=\"timed_out\"} ";
  auto at = metrics->body.find(counter);
  REQUIRE(at != std::string::npos);
  CHECK(std::stol(metrics->body.substr(at + counter.size())) >= 40);
}

TEST_CASE("http: idle connections are closed after the keep-alive timeout", "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, {"--keep-alive-timeout", "1"});
  RawConnection silent(daemon.port());
  CHECK(silent.closed_by_peer(10s));

  RawConnection kept(daemon.port());
  kept.send("GET /health HTTP/1.1\r\nHost: loyalty\r\n\r\n");
  auto first = kept.read_response(10s);
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK(first->headers.count("connection") == 0);  // keep-alive is HTTP/1.1's default
  CHECK(kept.closed_by_peer(10s));
}

TEST_CASE("http: connections over the per-address or total cap are refused at once with 503",
          "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db, {"--max-connections-per-ip", "3", "--max-connections", "5",
                                  "--keep-alive-timeout", "60"});
  auto served = [&](RawConnection& c) {
    c.send("GET /health HTTP/1.1\r\nHost: loyalty\r\n\r\n");
    auto r = c.read_response(10s);
    return r && r->status == 200;
  };
  std::vector<RawConnection> first;
  for (int i = 0; i < 3; ++i) {
    first.emplace_back(daemon.port(), "127.0.0.1");
    CHECK(served(first.back()));
  }
  RawConnection over_ip(daemon.port(), "127.0.0.1");
  auto refused = over_ip.read_response(5s);
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK(refused->headers.at("retry-after") == "1");
  CHECK(problem_type(*refused) == "too-many-connections");
  CHECK(over_ip.closed_by_peer(5s));

  // Another address still gets in, up to the total.
  RawConnection second_a(daemon.port(), "127.0.0.2"), second_b(daemon.port(), "127.0.0.2");
  CHECK(served(second_a));
  CHECK(served(second_b));
  RawConnection over_total(daemon.port(), "127.0.0.3");
  auto refused_total = over_total.read_response(5s);
  REQUIRE(refused_total);
  CHECK(refused_total->status == 503);

  // A connection that closes frees its place.
  first.pop_back();
  bool admitted = false;
  for (int attempt = 0; attempt < 50 && !admitted; ++attempt) {
    RawConnection again(daemon.port(), "127.0.0.1");
    admitted = served(again);
    if (!admitted) std::this_thread::sleep_for(100ms);
  }
  CHECK(admitted);
}

TEST_CASE("http: bodies over 1 MiB are refused in every form, without the daemon's memory growing",
          "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db);
  long rss_before = loyalty::test::rss_kib(daemon.pid());

  SECTION("a declared Content-Length over the limit is refused before the body is sent") {
    auto r = exchange(daemon.port(), login_head(2 << 20));
    CHECK(r.status == 413);
    CHECK(problem_type(r) == "payload-too-large");
  }
  SECTION("a chunked body of 20 MB is cut at the limit") {
    RawConnection c(daemon.port());
    c.send(
        "POST /public/auth/login HTTP/1.1\r\nHost: loyalty\r\nContent-Type: application/json"
        "\r\nTransfer-Encoding: chunked\r\n\r\n");
    std::atomic<bool> done{false};
    std::thread sender([&] {
      std::string chunk = "10000\r\n" + std::string(0x10000, ' ') + "\r\n";
      for (int i = 0; i < 320 && !done; ++i) {
        if (!c.send(chunk)) break;
      }
    });
    auto r = c.read_response(30s);
    done = true;
    sender.join();
    REQUIRE(r);
    CHECK(r->status == 413);
    CHECK(problem_type(*r) == "payload-too-large");
  }
  SECTION("a gzip body that expands to 100 MiB is stopped at 1 MiB") {
    auto bomb = gzip_of_zeros(100u << 20);
    CHECK(bomb.size() < 200'000);
    auto r = exchange(daemon.port(), login_head(bomb.size(), "Content-Encoding: gzip\r\n") + bomb);
    CHECK(r.status == 413);
  }
  SECTION("a brotli body of a few KiB that expands to 1 GiB is stopped at 1 MiB") {
    auto bomb = brotli_bomb();
    REQUIRE(bomb.size() == 809);
    auto r = exchange(daemon.port(), login_head(bomb.size(), "Content-Encoding: br\r\n") + bomb);
    CHECK(r.status == 413);
  }
  long rss_after = loyalty::test::rss_kib(daemon.pid());
  CHECK(rss_after - rss_before < 16 * 1024);
  CHECK(health_ok(daemon.port()));
}

TEST_CASE("http: compressed bodies are decoded, and broken or unknown codings are clear errors",
          "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db);
  // Decoded, the body reaches the handler: a wrong password is a 401, not a parse error.
  auto body = gzip(kLogin);
  auto decoded =
      exchange(daemon.port(), login_head(body.size(), "Content-Encoding: gzip\r\n") + body);
  CHECK(decoded.status == 401);

  std::string broken = body.substr(0, body.size() / 2);
  auto truncated =
      exchange(daemon.port(), login_head(broken.size(), "Content-Encoding: gzip\r\n") + broken);
  CHECK(truncated.status == 400);
  CHECK(problem_type(truncated) == "malformed-request");

  auto unknown =
      exchange(daemon.port(), login_head(kLogin.size(), "Content-Encoding: compress\r\n") + kLogin);
  CHECK(unknown.status == 415);
}

TEST_CASE("http: oversized heads are 431 or 414, broken request lines 400", "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db);
  std::string many;
  for (int i = 0; i < 200; ++i) many += "X-Field-" + std::to_string(i) + ": v\r\n";
  auto too_many =
      exchange(daemon.port(), "GET /health HTTP/1.1\r\nHost: loyalty\r\n" + many + "\r\n");
  CHECK(too_many.status == 431);
  CHECK(problem_type(too_many) == "headers-too-large");
  CHECK(nlohmann::json::parse(too_many.body)["title"] == "Request Header Fields Too Large");

  auto too_big = exchange(daemon.port(), "GET /health HTTP/1.1\r\nHost: loyalty\r\nX-Big: " +
                                             std::string(9000, 'a') + "\r\n\r\n");
  CHECK(too_big.status == 431);

  auto far_too_big = exchange(daemon.port(), "GET /health HTTP/1.1\r\nHost: loyalty\r\nX-Big: " +
                                                 std::string(64000, 'a') + "\r\n\r\n");
  CHECK(far_too_big.status == 431);

  auto long_target =
      exchange(daemon.port(), "GET /health?q=" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n");
  CHECK(long_target.status == 414);
  CHECK(problem_type(long_target) == "uri-too-long");
  CHECK(nlohmann::json::parse(long_target.body)["title"] == "URI Too Long");

  auto garbage = exchange(daemon.port(), "THIS IS NOT HTTP\r\n\r\n");
  CHECK(garbage.status == 400);
  CHECK(health_ok(daemon.port()));
}

TEST_CASE("http: a client that asks for 100 Continue gets it, then its answer", "[http]") {
  TestDatabase db;
  auto daemon = Daemon::over(db);
  RawConnection c(daemon.port());
  c.send(login_head(kLogin.size(), "Expect: 100-continue\r\n"));
  auto interim = c.read_response(10s, true);  // before any byte of the body is sent
  REQUIRE(interim);
  CHECK(interim->status == 100);
  c.send(kLogin);
  auto r = c.read_response(10s);
  REQUIRE(r);
  CHECK(r->status == 401);
}
