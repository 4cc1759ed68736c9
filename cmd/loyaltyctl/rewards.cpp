// loyaltyctl rewards create|update|list|show|upload-codes
#include "commands.hpp"

#include <loyalty/core/actor.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/rewards/rewards.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <fstream>
#include <iostream>

namespace loyaltyctl {

namespace {

namespace rewards = loyalty::rewards;
using nlohmann::json;

std::string tenant_id(Context& ctx, const std::string& ref) {
  return loyalty::tenants::find_tenant(ctx.database(), ref).id;
}

json parse_json_option(const std::string& flag, const std::string& text) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw loyalty::Error(loyalty::ErrorCode::invalid, "validation-failed",
                         flag + " is not valid JSON (at byte " + std::to_string(e.byte) + ")");
  }
}

void print_reward(const rewards::Reward& r) {
  std::cout << "id:        " << r.id << "\n"
            << "name:      " << r.name << "\n"
            << "type:      " << r.type << "\n"
            << "cost:      " << loyalty::format_amount(r.cost) << " " << r.currency << "\n"
            << "config:    " << r.config.dump() << "\n"
            << "active:    " << (r.active ? "yes" : "no") << "\n";
  if (r.valid_from) std::cout << "from:      " << *r.valid_from << "\n";
  if (r.valid_until) std::cout << "until:     " << *r.valid_until << "\n";
  if (r.validity_days) std::cout << "valid for: " << *r.validity_days << " days\n";
  if (r.budget_id) std::cout << "budget:    " << *r.budget_id << "\n";
  if (r.points_price) std::cout << "claim for: " << *r.points_price << " points\n";
  if (r.requires_pin) std::cout << "redeemed:  with the customer's one-time PIN\n";
  if (r.pool) {
    std::cout << "pool:      " << r.pool->available << " available, " << r.pool->assigned
              << " assigned, " << r.pool->redeemed << " redeemed\n";
  }
}

void print_report(const rewards::UploadReport& report) {
  std::cout << "inserted:           " << report.inserted << "\n"
            << "duplicates in file: " << report.duplicates_in_file << "\n"
            << "already present:    " << report.already_present << "\n"
            << "invalid lines:      " << report.invalid_count << "\n";
  for (const auto& line : report.invalid) {
    std::cout << "  line " << line.line << ": " << line.reason << "\n";
  }
  if (report.invalid_count > static_cast<std::int64_t>(report.invalid.size())) {
    std::cout << "  ... and "
              << report.invalid_count - static_cast<std::int64_t>(report.invalid.size())
              << " more\n";
  }
  std::cout << "pool now:           " << report.pool.available << " available, "
            << report.pool.assigned << " assigned, " << report.pool.redeemed << " redeemed\n";
}

struct Options {
  std::string tenant;
  std::string reward;
  std::string name, type, cost = "0", currency, config, description, valid_from, valid_until,
                          budget, patch, file, filter_type;
  int validity_days = 0;
  long long points_price = 0;
  bool requires_pin = false;
};

void add_rewards_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("rewards", "the reward catalogue and voucher code pools");
  group->require_subcommand(1);
  auto o = std::make_shared<Options>();

  auto* create = group->add_subcommand("create", "add a reward to a tenant's catalogue");
  create->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  create->add_option("--name", o->name, "unique name in the tenant")->required();
  create->add_option("--type", o->type, "discount, voucher, points or physical")->required();
  create->add_option("--cost", o->cost, "what an issuance reserves from a budget, e.g. 2.50")
      ->capture_default_str();
  create->add_option("--currency", o->currency, "USD or ZWG")->required();
  create->add_option("--config", o->config,
                     R"(type settings as JSON, e.g. {"kind":"percent","percent":10})");
  create->add_option("--description", o->description, "shown to staff");
  create->add_option("--valid-from", o->valid_from, "first instant it can be issued (RFC 3339)");
  create->add_option("--valid-until", o->valid_until, "end of issuing (RFC 3339, exclusive)");
  create->add_option("--validity-days", o->validity_days, "days an issued reward stays valid");
  create->add_option("--budget", o->budget, "default budget (id or name)");
  create->add_option("--points-price", o->points_price,
                     "customers may claim it with this many points");
  create->add_flag("--requires-pin", o->requires_pin,
                   "redeemed only with a one-time PIN sent to the customer when issued");
  add_json_flag(create, ctx);
  create->callback([&ctx, o] {
    json fields = {
        {"name", o->name}, {"type", o->type}, {"cost", o->cost}, {"currency", o->currency}};
    if (!o->config.empty()) fields["config"] = parse_json_option("--config", o->config);
    if (!o->description.empty()) fields["description"] = o->description;
    if (!o->valid_from.empty()) fields["valid_from"] = o->valid_from;
    if (!o->valid_until.empty()) fields["valid_until"] = o->valid_until;
    if (o->validity_days != 0) fields["validity_days"] = o->validity_days;
    if (!o->budget.empty()) fields["budget"] = o->budget;
    if (o->points_price != 0) fields["points_price"] = o->points_price;
    if (o->requires_pin) fields["requires_pin"] = true;
    auto r = rewards::create_reward(ctx.database(), tenant_id(ctx, o->tenant),
                                    loyalty::Actor::operator_cli(), fields);
    ctx.json ? print_json(rewards::to_json(r)) : print_reward(r);
  });

  auto* update = group->add_subcommand("update", "change a reward with a JSON merge patch");
  update->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  update->add_option("reward", o->reward, "reward id or name")->required();
  update->add_option("--patch", o->patch, R"(fields to change, e.g. {"active":false})")->required();
  add_json_flag(update, ctx);
  update->callback([&ctx, o] {
    auto r = rewards::update_reward(ctx.database(), tenant_id(ctx, o->tenant),
                                    loyalty::Actor::operator_cli(), o->reward,
                                    parse_json_option("--patch", o->patch));
    ctx.json ? print_json(rewards::to_json(r)) : print_reward(r);
  });

  auto* list = group->add_subcommand("list", "list a tenant's rewards");
  list->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  list->add_option("--type", o->filter_type, "only this type");
  add_json_flag(list, ctx);
  list->callback([&ctx, o] {
    auto tid = tenant_id(ctx, o->tenant);
    rewards::RewardFilter filter;
    filter.type = o->filter_type;
    auto all = json::array();
    loyalty::PageRequest page{200, ""};
    do {
      auto result = rewards::list_rewards(ctx.database(), tid, filter, page);
      for (const auto& r : result.items) {
        if (ctx.json) {
          all.push_back(rewards::to_json(r));
        } else {
          std::cout << r.id << "  " << r.type << "  " << loyalty::format_amount(r.cost) << " "
                    << r.currency << "  " << (r.active ? "active  " : "inactive") << "  " << r.name
                    << "\n";
        }
      }
      page.cursor = result.next_cursor;
    } while (!page.cursor.empty());
    if (ctx.json) print_json(all);
  });

  auto* show = group->add_subcommand("show", "show one reward with its code pool");
  show->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  show->add_option("reward,--reward", o->reward, "reward id or name")->required();
  add_json_flag(show, ctx);
  show->callback([&ctx, o] {
    auto r = rewards::get_reward(ctx.database(), tenant_id(ctx, o->tenant), o->reward);
    ctx.json ? print_json(rewards::to_json(r)) : print_reward(r);
  });

  auto* upload = group->add_subcommand(
      "upload-codes",
      "load voucher codes into a reward's pool: one per line (or a CSV's first column); "
      "duplicates skipped, invalid lines reported, all in one transaction");
  upload->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  upload->add_option("--reward", o->reward, "reward id or name")->required();
  upload->add_option("file", o->file, "the code file; - reads stdin")->required();
  add_json_flag(upload, ctx);
  upload->callback([&ctx, o] {
    auto tid = tenant_id(ctx, o->tenant);
    rewards::UploadReport report;
    if (o->file == "-") {
      report = rewards::upload_codes(ctx.database(), tid, loyalty::Actor::operator_cli(), o->reward,
                                     std::cin);
    } else {
      std::ifstream in(o->file, std::ios::binary);
      if (!in) loyalty::throw_not_found("file " + o->file);
      report =
          rewards::upload_codes(ctx.database(), tid, loyalty::Actor::operator_cli(), o->reward, in);
    }
    ctx.json ? print_json(rewards::to_json(report)) : print_report(report);
  });
}

const CommandGroup kRewards(40, add_rewards_commands);

}  // namespace

}  // namespace loyaltyctl
