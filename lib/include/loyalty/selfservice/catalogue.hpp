#pragma once
// Every text a customer reads, in English, Shona and Ndebele: one catalogue per language in
// messages/<code>.json (embedded at build time), never in code. Texts carry {name} placeholders.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loyalty::selfservice {

/// One embedded catalogue file, e.g. {"sn.json", "{...}"}.
struct EmbeddedCatalogue {
  std::string name;
  std::string json;
};
const std::vector<EmbeddedCatalogue>& embedded_catalogues();

/// Values for a text's placeholders, e.g. {{"points", "120"}}.
using Vars = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view kDefaultLanguage = "en";

/// The channel-neutral commands a customer can give.
enum class Command { none, join, balance, rewards, redeem, stop, help, language };

class Catalogue {
 public:
  /// The embedded catalogues, parsed once. Throws std::logic_error when one is not valid JSON or
  /// lacks a key that English has (a test holds every language to it).
  static const Catalogue& builtin();

  /// Language codes in the order menus offer them: en, sn, nd, then others by file name.
  const std::vector<std::string>& languages() const { return codes_; }
  bool has_language(std::string_view code) const;
  /// Every text key (English's).
  std::vector<std::string> keys() const;

  /// The text of `key` in `language` (English when the language is unknown) with each {name}
  /// replaced by its value. Throws std::out_of_range for an unknown key.
  std::string text(std::string_view language, std::string_view key, const Vars& vars = {}) const;

  /// The command a word names in any language, case-insensitive ("pinda" is join).
  Command command_of(std::string_view word) const;

 private:
  Catalogue();
  struct Language {
    std::string code;
    std::vector<std::pair<std::string, std::string>> texts;  ///< sorted by key
    std::vector<std::pair<std::string, Command>> commands;   ///< upper-case word, command
  };
  const Language& language(std::string_view code) const;
  std::vector<Language> all_;
  std::vector<std::string> codes_;
};

}  // namespace loyalty::selfservice
