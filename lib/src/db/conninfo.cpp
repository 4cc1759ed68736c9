// Connection strings taken apart with libpq's parser, so every form libpq accepts (URLs with
// query parameters, key=value words, percent-escapes) is understood the same way here.
#include <loyalty/core/error.hpp>
#include <loyalty/db/conninfo.hpp>

#include <libpq-fe.h>

#include <memory>

namespace loyalty::db {

namespace {

std::string quoted(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

struct Parsed {
  std::string words;  // without the password
  std::string password;
  std::string dbname;
};

Parsed parse(const std::string& url, const std::string& dbname) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
      PQconninfoParse(url.c_str(), &error), &PQconninfoFree);
  if (!options) {
    std::string why = error ? error : "out of memory";
    if (error) PQfreemem(error);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    throw_invalid("the database URL cannot be parsed: " + why);
  }
  Parsed out;
  for (PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    std::string keyword = o->keyword;
    std::string value = o->val ? o->val : "";
    if (keyword == "dbname" && !dbname.empty()) value = dbname;
    if (value.empty()) continue;
    if (keyword == "password") {
      out.password = value;
      continue;
    }
    if (keyword == "dbname") out.dbname = value;
    out.words += (out.words.empty() ? "" : " ") + keyword + "=" + quoted(value);
  }
  if (out.dbname.empty() && !dbname.empty()) {
    out.dbname = dbname;
    out.words += (out.words.empty() ? "" : " ") + std::string("dbname=") + quoted(dbname);
  }
  return out;
}

}  // namespace

ClientConnection client_connection(const std::string& url, const std::string& dbname) {
  auto p = parse(url, dbname);
  return {p.words, p.password, p.dbname};
}

std::string url_for_database(const std::string& url, const std::string& dbname) {
  auto p = parse(url, dbname);
  if (p.password.empty()) return p.words;
  return p.words + " password=" + quoted(p.password);
}

}  // namespace loyalty::db
