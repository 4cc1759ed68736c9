// loyaltyctl customer export|erase: a customer's data on request.
#include "commands.hpp"

#include <loyalty/core/actor.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/customers/privacy.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace loyaltyctl {

namespace {

namespace customers = loyalty::customers;

struct Options {
  std::string tenant, customer, out;
  bool yes = false;
};

void add_customer_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("customer", "a customer's data on request: export, erase");
  group->require_subcommand(1);
  auto o = std::make_shared<Options>();
  auto who = [o](CLI::App* cmd) {
    cmd->add_option("--tenant", o->tenant, "tenant id or slug")->required();
    cmd->add_option("--customer", o->customer, "the customer's id or phone number")->required();
  };

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
