#include <loyalty/selfservice/catalogue.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace loyalty::selfservice {

namespace {

const std::vector<std::pair<std::string, Command>> kCommandNames = {
    {"join", Command::join},        {"balance", Command::balance}, {"rewards", Command::rewards},
    {"redeem", Command::redeem},    {"stop", Command::stop},       {"help", Command::help},
    {"language", Command::language}};

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

const Catalogue& Catalogue::builtin() {
  static const Catalogue kBuiltin;
  return kBuiltin;
}

Catalogue::Catalogue() {
  for (const auto& file : embedded_catalogues()) {
    const auto dot = file.name.rfind('.');
    Language lang;
    lang.code = file.name.substr(0, dot);
    auto doc = nlohmann::json::parse(file.json);
    for (const auto& [key, value] : doc.items()) {
      if (key == "commands") {
        for (const auto& [name, command] : kCommandNames) {
          if (!value.contains(name) || !value[name].is_string())
            throw std::logic_error("messages/" + file.name + ": no command word for " + name);
          lang.commands.emplace_back(upper(value[name].get<std::string>()), command);
        }
        continue;
      }
      if (!value.is_string()) throw std::logic_error("messages/" + file.name + ": " + key);
      lang.texts.emplace_back(key, value.get<std::string>());
    }
    std::sort(lang.texts.begin(), lang.texts.end());
    all_.push_back(std::move(lang));
  }
  // Menus offer English, Shona, Ndebele (by speakers in Zimbabwe), then any other by file name.
  static const std::vector<std::string> kOrder = {"en", "sn", "nd"};
  auto rank = [](const Language& l) {
    auto it = std::find(kOrder.begin(), kOrder.end(), l.code);
    return static_cast<std::size_t>(it - kOrder.begin());
  };
  std::stable_sort(all_.begin(), all_.end(),
                   [&](const Language& a, const Language& b) { return rank(a) < rank(b); });
  if (all_.empty() || all_.front().code != kDefaultLanguage)
    throw std::logic_error("messages/en.json is missing");
  for (const auto& lang : all_) {
    codes_.push_back(lang.code);
    for (const auto& [key, text] : all_.front().texts) {
      auto it = std::lower_bound(lang.texts.begin(), lang.texts.end(),
                                 std::make_pair(key, std::string()));
      if (it == lang.texts.end() || it->first != key)
        throw std::logic_error("messages/" + lang.code + ".json lacks \"" + key + "\"");
    }
  }
}

bool Catalogue::has_language(std::string_view code) const {
  return std::find(codes_.begin(), codes_.end(), code) != codes_.end();
}

std::vector<std::string> Catalogue::keys() const {
  std::vector<std::string> out;
  for (const auto& [key, text] : all_.front().texts) out.push_back(key);
  return out;
}

const Catalogue::Language& Catalogue::language(std::string_view code) const {
  for (const auto& lang : all_)
    if (lang.code == code) return lang;
  return all_.front();
}

std::string Catalogue::text(std::string_view code, std::string_view key, const Vars& vars) const {
  const auto& texts = language(code).texts;
  auto it = std::lower_bound(texts.begin(), texts.end(), key,
                             [](const auto& entry, std::string_view k) { return entry.first < k; });
  if (it == texts.end() || it->first != key)
    throw std::out_of_range("no message \"" + std::string(key) + "\"");
  std::string out;
  const std::string& t = it->second;
  for (std::size_t i = 0; i < t.size();) {
    if (t[i] == '{') {
      const auto close = t.find('}', i);
      if (close != std::string::npos) {
        const std::string_view name(t.data() + i + 1, close - i - 1);
        auto var =
            std::find_if(vars.begin(), vars.end(), [&](const auto& v) { return v.first == name; });
        if (var != vars.end()) {
          out += var->second;
          i = close + 1;
          continue;
        }
      }
    }
    out += t[i++];
  }
  return out;
}

Command Catalogue::command_of(std::string_view word) const {
  const std::string w = upper(word);
  for (const auto& lang : all_)
    for (const auto& [name, command] : lang.commands)
      if (name == w) return command;
  return Command::none;
}

}  // namespace loyalty::selfservice
