#pragma once

#include <string>

namespace loyalty::db {

/// A libpq connection (a postgresql:// URL or `key=value` words) taken apart for a client
/// program such as pg_dump: the connection words without the password, and the password to hand
/// over through the environment (PGPASSWORD), never on a command line.
struct ClientConnection {
  std::string conninfo;  ///< `key='value'` words, no password
  std::string password;  ///< empty when the URL has none (a passfile or trust then applies)
  std::string dbname;    ///< the database the words name
};

/// Parses `url` with libpq's own parser, replacing its database with `dbname` when that is not
/// empty. Throws Error(invalid) naming the problem (never the URL, which may hold a password).
ClientConnection client_connection(const std::string& url, const std::string& dbname = "");

/// `url` for another database of the same server, as words a libpq connection accepts (the
/// password kept): for connections this process opens itself.
std::string url_for_database(const std::string& url, const std::string& dbname);

}  // namespace loyalty::db
