-- A customer's personal data can be erased on request (lib customers/privacy): loyalty_app may
-- clear the customer's own fields, the data of their events, the payloads of their notices and
-- the external reference in the messages about them, keeping every amount the ledger needs.
GRANT UPDATE (phone, external_ref, attributes, tags, segments, birthday) ON customers
  TO loyalty_app;
GRANT UPDATE (data) ON events TO loyalty_app;
GRANT UPDATE (payload) ON notifications, outbox TO loyalty_app;
