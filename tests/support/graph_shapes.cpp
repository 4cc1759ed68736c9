#include "support/graph_shapes.hpp"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <initializer_list>
#include <set>
#include <string>

namespace loyalty::test {

namespace {

using nlohmann::json;

class Check {
 public:
  explicit Check(std::vector<std::string>& problems) : problems_(problems) {}

  void fail(const std::string& at, const std::string& what) {
    problems_.push_back(at + ": " + what);
  }

  /// `value` is an object with no members but these.
  bool object(const json& value, const std::string& at,
              std::initializer_list<const char*> allowed) {
    if (!value.is_object()) {
      fail(at, "not an object");
      return false;
    }
    for (const auto& [key, member] : value.items()) {
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
        fail(at + "/" + key, "not a member of this shape");
      }
    }
    return true;
  }

  /// value[key] is a string of min..max characters; absent is fine when min is 0.
  void text(const json& value, const std::string& key, const std::string& at, std::size_t min,
            std::size_t max) {
    const std::string where = at + "/" + key;
    if (!value.contains(key)) {
      if (min > 0) fail(where, "missing");
      return;
    }
    if (!value[key].is_string()) {
      fail(where, "not a string");
      return;
    }
    // Characters as the API counts them: code points, i.e. bytes that do not continue one
    // (the JSON parser has checked the UTF-8 already).
    const auto& s = value[key].get_ref<const std::string&>();
    const auto count = static_cast<std::size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
    if (count < min) fail(where, "empty");
    if (count > max) {
      fail(where, std::to_string(count) + " characters, at most " + std::to_string(max));
    }
  }

  void equals(const json& value, const std::string& key, const std::string& at,
              const std::string& expected) {
    if (!value.contains(key) || value[key] != expected) {
      fail(at + "/" + key, "is not \"" + expected + "\"");
    }
  }

 private:
  std::vector<std::string>& problems_;
};

bool phone(const std::string& to) {
  const std::size_t start = !to.empty() && to[0] == '+' ? 1 : 0;
  const std::size_t digits = to.size() - start;
  return digits >= 6 && digits <= 15 &&
         std::all_of(to.begin() + static_cast<std::ptrdiff_t>(start), to.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

bool bsuid(const std::string& to) {
  return to.size() > 3 && std::isupper(static_cast<unsigned char>(to[0])) &&
         std::isupper(static_cast<unsigned char>(to[1])) && to[2] == '.';
}

void check_text(Check& check, const json& text) {
  if (!check.object(text, "/text", {"preview_url", "body"})) return;
  check.text(text, "body", "/text", 1, 4096);
  if (text.contains("preview_url") && !text["preview_url"].is_boolean()) {
    check.fail("/text/preview_url", "not a boolean");
  }
}

void check_buttons(Check& check, const json& action, const std::string& at) {
  if (!check.object(action, at, {"buttons"})) return;
  const json& buttons = action.value("buttons", json());
  if (!buttons.is_array() || buttons.empty() || buttons.size() > 3) {
    check.fail(at + "/buttons", "not an array of 1 to 3 buttons");
    return;
  }
  std::set<json> ids, titles;
  for (std::size_t i = 0; i < buttons.size(); ++i) {
    const std::string where = at + "/buttons/" + std::to_string(i);
    if (!check.object(buttons[i], where, {"type", "reply"})) continue;
    check.equals(buttons[i], "type", where, "reply");
    const json& reply = buttons[i].value("reply", json());
    if (!check.object(reply, where + "/reply", {"id", "title"})) continue;
    check.text(reply, "id", where + "/reply", 1, 256);
    check.text(reply, "title", where + "/reply", 1, 20);
    if (!ids.insert(reply.value("id", json())).second) check.fail(where, "id not unique");
    if (!titles.insert(reply.value("title", json())).second) check.fail(where, "title not unique");
  }
}

void check_list(Check& check, const json& action, const std::string& at) {
  if (!check.object(action, at, {"button", "sections"})) return;
  check.text(action, "button", at, 1, 20);
  const json& sections = action.value("sections", json());
  if (!sections.is_array() || sections.empty() || sections.size() > 10) {
    check.fail(at + "/sections", "not an array of 1 to 10 sections");
    return;
  }
  std::size_t rows_in_all = 0;
  std::set<json> ids;
  for (std::size_t s = 0; s < sections.size(); ++s) {
    const std::string where = at + "/sections/" + std::to_string(s);
    if (!check.object(sections[s], where, {"title", "rows"})) continue;
    check.text(sections[s], "title", where, sections.size() > 1 ? 1 : 0, 24);
    const json& rows = sections[s].value("rows", json());
    if (!rows.is_array() || rows.empty()) {
      check.fail(where + "/rows", "not an array of rows");
      continue;
    }
    rows_in_all += rows.size();
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const std::string row_at = where + "/rows/" + std::to_string(r);
      if (!check.object(rows[r], row_at, {"id", "title", "description"})) continue;
      check.text(rows[r], "id", row_at, 1, 200);
      check.text(rows[r], "title", row_at, 1, 24);
      check.text(rows[r], "description", row_at, 0, 72);
      if (!ids.insert(rows[r].value("id", json())).second) check.fail(row_at, "id not unique");
    }
  }
  if (rows_in_all > 10) check.fail(at + "/sections", std::to_string(rows_in_all) + " rows in all");
}

void check_interactive(Check& check, const json& interactive) {
  const std::string at = "/interactive";
  if (!check.object(interactive, at, {"type", "header", "body", "footer", "action"})) return;
  const std::string type = interactive.value("type", "");
  if (type != "button" && type != "list") {
    check.fail(at + "/type", "neither button nor list");
    return;
  }
  if (interactive.contains("header")) {
    const json& header = interactive["header"];
    const std::string kind = header.is_object() ? header.value("type", "") : "";
    if (kind == "text") {
      if (check.object(header, at + "/header", {"type", "text"})) {
        check.text(header, "text", at + "/header", 1, 60);
      }
    } else if (kind == "image" && type == "button") {
      const json image = header.value("image", json());
      if (check.object(header, at + "/header", {"type", "image"}) &&
          check.object(image, at + "/header/image", {"id"})) {
        check.text(image, "id", at + "/header/image", 1, 256);
      }
    } else {
      check.fail(at + "/header", "not a text header (or an image one, for buttons)");
    }
  }
  if (check.object(interactive.value("body", json()), at + "/body", {"text"})) {
    check.text(interactive["body"], "text", at + "/body", 1, type == "button" ? 1024 : 4096);
  }
  if (interactive.contains("footer") &&
      check.object(interactive["footer"], at + "/footer", {"text"})) {
    check.text(interactive["footer"], "text", at + "/footer", 1, 60);
  }
  if (type == "button") {
    check_buttons(check, interactive.value("action", json()), at + "/action");
  } else {
    check_list(check, interactive.value("action", json()), at + "/action");
  }
}

void check_template(Check& check, const json& tmpl) {
  const std::string at = "/template";
  if (!check.object(tmpl, at, {"name", "language", "components"})) return;
  check.text(tmpl, "name", at, 1, 512);
  if (check.object(tmpl.value("language", json()), at + "/language", {"code"})) {
    check.text(tmpl["language"], "code", at + "/language", 2, 10);
  }
  if (!tmpl.contains("components")) return;
  const json& components = tmpl["components"];
  if (!components.is_array() || components.empty()) {
    check.fail(at + "/components", "not an array of components");
    return;
  }
  for (std::size_t c = 0; c < components.size(); ++c) {
    const std::string where = at + "/components/" + std::to_string(c);
    if (!check.object(components[c], where, {"type", "parameters"})) continue;
    check.equals(components[c], "type", where, "body");
    const json& parameters = components[c].value("parameters", json());
    if (!parameters.is_array() || parameters.empty()) {
      check.fail(where + "/parameters", "not an array of parameters");
      continue;
    }
    const bool named = parameters[0].is_object() && parameters[0].contains("parameter_name");
    for (std::size_t p = 0; p < parameters.size(); ++p) {
      const std::string param_at = where + "/parameters/" + std::to_string(p);
      if (!check.object(parameters[p], param_at, {"type", "text", "parameter_name"})) continue;
      check.equals(parameters[p], "type", param_at, "text");
      check.text(parameters[p], "text", param_at, 1, 1024);
      if (parameters[p].contains("parameter_name") != named) {
        check.fail(param_at, "named and positional parameters mixed");
      } else if (named) {
        check.text(parameters[p], "parameter_name", param_at, 1, 128);
      }
    }
  }
}

}  // namespace

std::vector<std::string> graph_body_problems(const json& body) {
  std::vector<std::string> problems;
  Check check(problems);
  if (!check.object(body, "",
                    {"messaging_product", "recipient_type", "to", "recipient", "type", "text",
                     "interactive", "template"})) {
    return problems;
  }
  check.equals(body, "messaging_product", "", "whatsapp");
  check.equals(body, "recipient_type", "", "individual");
  const std::string to = body.value("to", json()).is_string() ? body["to"].get<std::string>() : "";
  const std::string recipient =
      body.value("recipient", json()).is_string() ? body["recipient"].get<std::string>() : "";
  if (body.contains("to") && !phone(to)) check.fail("/to", "not a phone number");
  if (body.contains("recipient") && !bsuid(recipient)) check.fail("/recipient", "not a BSUID");
  if (!body.contains("to") && !body.contains("recipient")) check.fail("/to", "missing");
  const std::string type =
      body.value("type", json()).is_string() ? body["type"].get<std::string>() : "";
  for (const char* kind : {"text", "interactive", "template"}) {
    if (body.contains(kind) && type != kind) check.fail(std::string("/") + kind, "not the type");
  }
  if ((type != "text" && type != "interactive" && type != "template") || !body.contains(type)) {
    check.fail("/type", "not text, interactive or template with its object");
  } else if (type == "text") {
    check_text(check, body["text"]);
  } else if (type == "interactive") {
    check_interactive(check, body["interactive"]);
  } else {
    check_template(check, body["template"]);
  }
  return problems;
}

}  // namespace loyalty::test
