#include <loyalty/core/crypto.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/core/page.hpp>
#include <loyalty/core/uuid.hpp>

namespace loyalty {

std::string encode_cursor(const CursorPosition& position) {
  return crypto::base64url_encode("v1|" + position.key + "|" + position.id);
}

namespace {

Error bad_cursor() {
  return Error(ErrorCode::invalid, "validation-failed", "the cursor is not valid",
               {{"/cursor", "not a cursor from a previous page"}});
}

}  // namespace

CursorPosition decode_cursor(const std::string& cursor) {
  auto text = crypto::base64url_decode(cursor);
  if (!text || text->rfind("v1|", 0) != 0) throw bad_cursor();
  auto sep = text->find('|', 3);
  if (sep == std::string::npos) throw bad_cursor();
  return {text->substr(3, sep - 3), text->substr(sep + 1)};
}

CursorPosition decode_keyed_cursor(const std::string& cursor) {
  if (cursor.empty()) return {};
  auto position = decode_cursor(cursor);
  if (!is_uuid(position.id)) throw bad_cursor();
  return position;
}

long long decode_numeric_cursor(const std::string& cursor) {
  if (cursor.empty()) return 0;
  auto key = decode_cursor(cursor).key;
  try {
    std::size_t used = 0;
    long long n = std::stoll(key, &used);
    if (used == key.size() && n > 0) return n;
  } catch (const std::exception&) {
  }
  throw bad_cursor();
}

PageRequest make_page_request(const std::string& limit, const std::string& cursor) {
  PageRequest page;
  if (!limit.empty()) {
    int n = 0;
    try {
      std::size_t used = 0;
      n = std::stoi(limit, &used);
      if (used != limit.size()) n = 0;
    } catch (const std::exception&) {
      n = 0;
    }
    if (n < 1 || n > 200) {
      throw_invalid("limit must be an integer from 1 to 200", {{"/limit", "must be 1 to 200"}});
    }
    page.limit = n;
  }
  if (!cursor.empty()) decode_cursor(cursor);  // reject garbage early
  page.cursor = cursor;
  return page;
}

}  // namespace loyalty
