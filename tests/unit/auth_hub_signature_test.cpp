#include <loyalty/auth/hub_signature.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>

using namespace loyalty::auth;

namespace {

std::string read_file(const std::string& relative) {
  std::ifstream file(std::string(LOYALTY_SOURCE_DIR) + "/" + relative, std::ios::binary);
  REQUIRE(file.good());
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

struct Vector {
  std::string secret;
  std::string body;
  std::string header;
};

Vector load_vector() {
  const auto meta =
      nlohmann::json::parse(read_file("tests/data/whatsapp/signature_vector_pywa.json"));
  Vector vector{meta.at("app_secret").get<std::string>(),
                read_file("tests/data/whatsapp/signature_vector_pywa.body.bin"),
                meta.at("x_hub_signature_256").get<std::string>()};
  REQUIRE(vector.body.size() == meta.at("raw_body_len").get<std::size_t>());
  return vector;
}

}  // namespace

TEST_CASE("hub signature: the pywa vector verifies over the raw body bytes", "[unit]") {
  const Vector vector = load_vector();
  CHECK(compute_hub_signature(vector.secret, vector.body) == vector.header);
  CHECK(verify_hub_signature(vector.secret, vector.body, vector.header));
  std::string upper = vector.header;
  std::transform(upper.begin() + 7, upper.end(), upper.begin() + 7,
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  CHECK(verify_hub_signature(vector.secret, vector.body, upper));
}

TEST_CASE("hub signature: altered bodies, wrong secrets and bad headers are refused", "[unit]") {
  const Vector vector = load_vector();
  std::string altered = vector.body;
  altered[altered.size() / 2] ^= 1;
  CHECK_FALSE(verify_hub_signature(vector.secret, altered, vector.header));
  CHECK_FALSE(verify_hub_signature(vector.secret, vector.body + "\n", vector.header));
  // Re-serialised JSON is not the body that was signed.
  CHECK_FALSE(verify_hub_signature(vector.secret, nlohmann::json::parse(vector.body).dump(2),
                                   vector.header));
  CHECK_FALSE(verify_hub_signature("another-app-secret", vector.body, vector.header));
  CHECK_FALSE(verify_hub_signature("", vector.body, vector.header));
  CHECK_FALSE(verify_hub_signature("", "", compute_hub_signature("", "")));

  const std::string hex = vector.header.substr(7);
  for (const std::string& header :
       {std::string(), hex, "sha1=" + hex, "SHA256=" + hex, "sha256=" + hex.substr(1),
        "sha256=" + hex + "0", "sha256=" + hex.substr(0, 63) + "g", " sha256=" + hex.substr(1)}) {
    INFO(header);
    CHECK_FALSE(verify_hub_signature(vector.secret, vector.body, header));
  }
}
