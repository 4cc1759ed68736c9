// loyaltyctl segments create|list|show|delete|recompute|members: a tenant's customer segments.
#include "commands.hpp"

#include <loyalty/core/actor.hpp>
#include <loyalty/core/error.hpp>
#include <loyalty/segments/segments.hpp>
#include <loyalty/tenants/tenants.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

namespace loyaltyctl {

namespace {

namespace segments = loyalty::segments;

struct Options {
  std::string tenant, segment, name, description, conditions, file;
  std::size_t batch = 500;
};

/// The conditions given inline (--conditions JSON) or in a file (--file F.json).
nlohmann::json conditions_of(const Options& o) {
  std::string text = o.conditions;
  if (!o.file.empty()) {
    std::ifstream in(o.file);
    if (!in) loyalty::throw_invalid("cannot read " + o.file);
    std::stringstream s;
    s << in.rdbuf();
    text = s.str();
  }
  if (text.empty())
    loyalty::throw_invalid("give the conditions with --conditions JSON or --file F.json");
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (parsed.is_discarded())
    loyalty::throw_invalid("the conditions are not JSON", {{"/conditions", "not JSON"}});
  return parsed;
}

void print_segment(const segments::Segment& s) {
  std::cout << s.id << "  " << s.name << "  " << s.conditions.dump()
            << (s.description.empty() ? "" : "  # " + s.description) << "\n";
}

void add_segments_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand(
      "segments", "customer segments: create, list, show, delete, recompute, members");
  group->require_subcommand(1);
  auto o = std::make_shared<Options>();
  auto tenant = [o](CLI::App* cmd) {
    cmd->add_option("--tenant", o->tenant, "tenant id or slug")->required();
  };
  auto tenant_id = [&ctx, o] {
    return loyalty::tenants::find_tenant(ctx.database(), o->tenant).id;
  };

  auto* create = group->add_subcommand(
      "create", "define a segment: a JsonLogic condition over the customer and their history");
  tenant(create);
  create->add_option("--name", o->name, "the segment's name (what in_segment tests)")->required();
  create->add_option("--conditions", o->conditions, "the JsonLogic condition");
  create->add_option("--file", o->file, "read the condition from this JSON file");
  create->add_option("--description", o->description, "what the segment is for");
  add_json_flag(create, ctx);
  create->callback([&ctx, o, tenant_id] {
    auto s = segments::create_segment(
        ctx.database(), tenant_id(),
        {{"name", o->name}, {"description", o->description}, {"conditions", conditions_of(*o)}},
        loyalty::Actor::operator_cli());
    ctx.json ? print_json(segments::to_json(s)) : print_segment(s);
  });

  auto* list = group->add_subcommand("list", "the tenant's segments, by name");
  tenant(list);
  add_json_flag(list, ctx);
  list->callback([&ctx, o, tenant_id] {
    auto tid = tenant_id();
    auto all = all_pages<segments::Segment>([&](const loyalty::PageRequest& page) {
      return segments::list_segments(ctx.database(), tid, page);
    });
    if (ctx.json) {
      auto items = nlohmann::json::array();
      for (const auto& s : all) items.push_back(segments::to_json(s));
      return print_json(items);
    }
    for (const auto& s : all) print_segment(s);
  });

  auto* show = group->add_subcommand("show", "one segment");
  tenant(show);
  show->add_option("segment", o->segment, "the segment's id or name")->required();
  add_json_flag(show, ctx);
  show->callback([&ctx, o, tenant_id] {
    auto s = segments::get_segment(ctx.database(), tenant_id(), o->segment);
    ctx.json ? print_json(segments::to_json(s)) : print_segment(s);
  });

  auto* del = group->add_subcommand(
      "delete", "delete a segment, taking its name out of its members' segments");
  tenant(del);
  del->add_option("segment", o->segment, "the segment's id or name")->required();
  del->callback([&ctx, o, tenant_id] {
    segments::delete_segment(ctx.database(), tenant_id(), o->segment,
                             loyalty::Actor::operator_cli());
    std::cout << "deleted " << o->segment << "\n";
  });

  auto* recompute = group->add_subcommand(
      "recompute", "recompute every customer's segments now, in batches (one transaction each)");
  tenant(recompute);
  recompute->add_option("--batch", o->batch, "customers per transaction (default 500)")
      ->check(CLI::Range(1, 10000));
  add_json_flag(recompute, ctx);
  recompute->callback([&ctx, o, tenant_id] {
    auto report = segments::recompute_segments(ctx.database(), tenant_id(), o->batch);
    ctx.json ? print_json(segments::to_json(report))
             : void(std::cout << "customers " << report.customers << ", changed " << report.changed
                              << ", batches " << report.batches << "\n");
  });

  auto* members = group->add_subcommand("members", "the customers in a segment, oldest first");
  tenant(members);
  members->add_option("segment", o->segment, "the segment's id or name")->required();
  add_json_flag(members, ctx);
  members->callback([&ctx, o, tenant_id] {
    auto tid = tenant_id();
    auto all = all_pages<loyalty::customers::Customer>([&](const loyalty::PageRequest& page) {
      return segments::segment_members(ctx.database(), tid, o->segment, page);
    });
    if (ctx.json) {
      auto items = nlohmann::json::array();
      for (const auto& c : all) items.push_back(loyalty::customers::to_json(c));
      return print_json(items);
    }
    for (const auto& c : all) {
      std::cout << c.id << "  " << (c.external_ref.empty() ? "" : c.external_ref) << "\n";
    }
  });
}

const CommandGroup kSegments(37, add_segments_commands);

}  // namespace

}  // namespace loyaltyctl
