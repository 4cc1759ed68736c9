// Customers: enrol, show, search, edit the profile, change status, consent history, export and
// erase.
#include "server.hpp"

#include <loyalty/customers/customers.hpp>
#include <loyalty/customers/privacy.hpp>

namespace loyaltyd {

namespace {

void add_customer_routes(Server& server, App& app) {
  server.add({"POST", "/v1/tenants/{tid}/customers", kAdmin | kManager | kPos,
              [&app](Request& req) {
                auto body =
                    req.json_body({"phone", "external_ref", "attributes", "tags", "segments",
                                   "birthday", "consent", "channel", "referral_code"});
                auto customer = loyalty::customers::create_customer(
                    *app.db, req.tenant_id, loyalty::customers::new_customer_from_json(body),
                    actor_of(req));
                return Reply::json(201, loyalty::customers::to_json(customer));
              },
              "enrol a customer"});
  server.add({"GET", "/v1/tenants/{tid}/customers/{id}", kAnyone,
              [&app](Request& req) {
                return Reply::json(200,
                                   loyalty::customers::to_json(loyalty::customers::get_customer(
                                       *app.db, req.tenant_id, req.params["id"])));
              },
              "show a customer"});
  server.add(
      {"GET", "/v1/tenants/{tid}/customers", kAnyone,
       [&app](Request& req) {
         loyalty::customers::CustomerFilter filter{req.query("phone"), req.query("external_ref"),
                                                   req.query("status"), req.query("segment")};
         auto page = loyalty::customers::list_customers(
             *app.db, req.tenant_id, filter,
             loyalty::make_page_request(req.query("limit"), req.query("cursor")));
         return Reply::json(
             200, page_json(page, [](const auto& c) { return loyalty::customers::to_json(c); }));
       },
       "search customers"});
  server.add({"GET", "/v1/tenants/{tid}/customers/{id}/export", kAdmin,
              [&app](Request& req) {
                return Reply::json(
                    200, loyalty::customers::export_customer(*app.db, req.tenant_id,
                                                             req.params["id"], actor_of(req)));
              },
              "everything held about a customer, as one document"});
  server.add({"POST", "/v1/tenants/{tid}/customers/{id}/erase", kAdmin,
              [&app](Request& req) {
                return Reply::json(200,
                                   loyalty::customers::to_json(loyalty::customers::erase_customer(
                                       *app.db, req.tenant_id, req.params["id"], actor_of(req))));
              },
              "erase a customer's personal data (irreversible, idempotent)"});
  server.add(
      {"PATCH", "/v1/tenants/{tid}/customers/{id}", kAdmin | kManager,
       [&app](Request& req) {
         auto body = req.json_body({"attributes", "tags", "birthday", "language", "consent"});
         auto customer = loyalty::customers::update_customer(
             *app.db, req.tenant_id, req.params["id"],
             loyalty::customers::customer_patch_from_json(body), actor_of(req));
         return Reply::json(200, loyalty::customers::to_json(customer));
       },
       "change a customer's attributes, tags, birthday, language or consent"});
  server.add({"GET", "/v1/tenants/{tid}/customers/{id}/consents", kAnyUser,
              [&app](Request& req) {
                auto page = loyalty::customers::consent_history(
                    *app.db, req.tenant_id, req.params["id"],
                    loyalty::make_page_request(req.query("limit"), req.query("cursor")));
                return Reply::json(200, page_json(page, [](const auto& c) {
                                     return loyalty::customers::to_json(c);
                                   }));
              },
              "a customer's consent history, oldest first"});
  server.add({"PATCH", "/v1/tenants/{tid}/customers/{id}/status", kAdmin | kManager | kPos,
              [&app](Request& req) {
                auto body = req.json_body({"status"});
                auto customer = loyalty::customers::set_customer_status(
                    *app.db, req.tenant_id, req.params["id"], required_string(body, "status"),
                    actor_of(req));
                return Reply::json(200, loyalty::customers::to_json(customer));
              },
              "change a customer's status"});
}

const RouteGroup kCustomerRoutes(add_customer_routes);

}  // namespace

}  // namespace loyaltyd
