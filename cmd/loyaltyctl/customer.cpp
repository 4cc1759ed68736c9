// loyaltyctl customer update|consents|export|erase: a customer's profile, their consent history,
// and their data on request.
#include "commands.hpp"

#include <loyalty/core/actor.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/customers/customers.hpp>
#include <loyalty/customers/privacy.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <vector>

namespace loyaltyctl {

namespace {

namespace customers = loyalty::customers;

struct Options {
  std::string tenant, customer, out;
  bool yes = false;
  std::optional<std::string> attributes, tags, birthday, language, consent;
  std::vector<std::string> add_tags, remove_tags;
  std::string channel = "api";
};

/// The patch the options describe, as the API's body (so both are validated alike).
nlohmann::json patch_body(const Options& o) {
  nlohmann::json body = nlohmann::json::object();
  if (o.attributes) {
    auto parsed = nlohmann::json::parse(*o.attributes, nullptr, false);
    if (parsed.is_discarded())
      loyalty::throw_invalid("--attributes is not JSON", {{"/attributes", "not JSON"}});
    body["attributes"] = parsed;
  }
  if (o.tags) {
    auto list = nlohmann::json::array();
    std::string tag;
    for (std::size_t i = 0; i <= o.tags->size(); ++i) {
      if (i == o.tags->size() || (*o.tags)[i] == ',') {
        if (!tag.empty()) list.push_back(tag);
        tag.clear();
      } else {
        tag += (*o.tags)[i];
      }
    }
    body["tags"] = list;
  }
  if (!o.add_tags.empty() || !o.remove_tags.empty()) {
    if (o.tags) loyalty::throw_invalid("give --tags, or --add-tag and --remove-tag, not both");
    body["tags"] = {{"add", o.add_tags}, {"remove", o.remove_tags}};
  }
  auto nullable = [](const std::string& v) {
    return v.empty() ? nlohmann::json() : nlohmann::json(v);
  };
  if (o.birthday) body["birthday"] = nullable(*o.birthday);
  if (o.language) body["language"] = nullable(*o.language);
  if (o.consent) {
    if (*o.consent != "given" && *o.consent != "withdrawn")
      loyalty::throw_invalid("--consent must be given or withdrawn",
                             {{"/consent/given", "given or withdrawn"}});
    body["consent"] = {{"given", *o.consent == "given"}, {"channel", o.channel}};
  }
  return body;
}

void add_customer_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand(
      "customer", "a customer's profile and data: update, consents, export, erase");
  group->require_subcommand(1);
  auto o = std::make_shared<Options>();
  auto who = [o](CLI::App* cmd) {
    cmd->add_option("--tenant", o->tenant, "tenant id or slug")->required();
    cmd->add_option("--customer", o->customer, "the customer's id or phone number")->required();
  };

  auto* update = group->add_subcommand(
      "update", "change a customer's attributes, tags, birthday, language or consent");
  who(update);
  update->add_option(
      "--attributes", o->attributes,
      "a JSON merge patch of the attributes ({\"city\": \"Harare\", \"old\": null})");
  update->add_option("--tags", o->tags, "replace every tag (comma-separated; empty: none)");
  update->add_option("--add-tag", o->add_tags, "add a tag, keeping the others (repeatable)");
  update->add_option("--remove-tag", o->remove_tags, "remove a tag (repeatable)");
  update->add_option("--birthday", o->birthday, "YYYY-MM-DD (empty: clear)");
  update->add_option("--language", o->language, "en, sn or nd (empty: the tenant's)");
  update->add_option("--consent", o->consent, "given or withdrawn");
  update->add_option("--channel", o->channel, "where consent was given or withdrawn (default api)");
  add_json_flag(update, ctx);
  update->callback([&ctx, o] {
    auto tid = loyalty::tenants::find_tenant(ctx.database(), o->tenant).id;
    auto id = customers::resolve_customer(ctx.database(), tid, o->customer);
    auto c = customers::update_customer(ctx.database(), tid, id,
                                        customers::customer_patch_from_json(patch_body(*o)),
                                        loyalty::Actor::operator_cli());
    if (ctx.json) return print_json(customers::to_json(c));
    std::string tags, segments;
    for (const auto& t : c.tags) tags += (tags.empty() ? "" : ",") + t;
    for (const auto& s : c.segments) segments += (segments.empty() ? "" : ",") + s;
    std::cout << "updated " << c.id << " tags=" << tags << " segments=" << segments
              << " consent=" << (c.consent_at.empty() ? "withdrawn" : "given") << "\n";
  });

  auto* consents = group->add_subcommand("consents", "a customer's consent history, oldest first");
  who(consents);
  add_json_flag(consents, ctx);
  consents->callback([&ctx, o] {
    auto tid = loyalty::tenants::find_tenant(ctx.database(), o->tenant).id;
    auto id = customers::resolve_customer(ctx.database(), tid, o->customer);
    auto all = all_pages<customers::ConsentChange>([&](const loyalty::PageRequest& page) {
      return customers::consent_history(ctx.database(), tid, id, page);
    });
    if (ctx.json) {
      auto items = nlohmann::json::array();
      for (const auto& c : all) items.push_back(customers::to_json(c));
      return print_json(items);
    }
    for (const auto& c : all) {
      std::cout << c.at << "  " << (c.given ? "given    " : "withdrawn") << "  " << c.channel
                << "  " << c.actor_type << (c.actor_id.empty() ? "" : ":" + c.actor_id) << "\n";
    }
  });

  auto* exp = group->add_subcommand("export", "everything held about one customer, as JSON");
  who(exp);
  exp->add_option("--out", o->out, "write to this file (0600) instead of standard output");
  exp->callback([&ctx, o] {
    auto tid = loyalty::tenants::find_tenant(ctx.database(), o->tenant).id;
    auto id = customers::resolve_customer(ctx.database(), tid, o->customer);
    auto doc = customers::export_customer(ctx.database(), tid, id, loyalty::Actor::operator_cli());
    if (o->out.empty()) {
      std::cout << doc.dump(2) << "\n";
      return;
    }
    // Created 0600 from the start: the export is personal data.
    const std::string tmp = o->out + ".tmp";
    const std::string text = doc.dump(2) + "\n";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) loyalty::throw_invalid("cannot write " + o->out);
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    if (::close(fd) != 0 || !written || std::rename(tmp.c_str(), o->out.c_str()) != 0) {
      std::remove(tmp.c_str());
      loyalty::throw_invalid("cannot write " + o->out);
    }
    std::cout << o->out << "\n";
  });

  auto* erase = group->add_subcommand(
      "erase", "irreversibly remove a customer's personal data, keeping the ledger's amounts");
  who(erase);
  erase->add_flag("--yes", o->yes, "do it without asking (scripts)");
  add_json_flag(erase, ctx);
  erase->callback([&ctx, o] {
    auto tid = loyalty::tenants::find_tenant(ctx.database(), o->tenant).id;
    auto id = customers::resolve_customer(ctx.database(), tid, o->customer);
    if (!o->yes) {
      if (!::isatty(STDIN_FILENO))
        loyalty::throw_invalid("erase is irreversible: give --yes to run it without a terminal");
      std::cerr << "Erase customer " << id << "? This cannot be undone. Type the id to confirm: ";
      std::string typed;
      std::getline(std::cin, typed);
      if (typed != id) loyalty::throw_invalid("not confirmed: nothing was erased");
    }
    auto c = customers::erase_customer(ctx.database(), tid, id, loyalty::Actor::operator_cli());
    ctx.json ? print_json(customers::to_json(c))
             : void(std::cout << "erased " << c.id << " (status " << c.status << ")\n");
  });
}

const CommandGroup kCustomer(33, add_customer_commands);

}  // namespace

}  // namespace loyaltyctl
