-- A reward can have a points price (issue 17): a customer claims it with that many points
-- (POST .../customers/:id/claims), which spend their lots that expire first. A points reward
-- cannot be bought with points.
ALTER TABLE rewards
  ADD COLUMN points_price bigint CHECK (points_price BETWEEN 1 AND 1000000000),
  ADD CONSTRAINT rewards_points_price_type CHECK (type <> 'points' OR points_price IS NULL);
GRANT UPDATE (points_price) ON rewards TO loyalty_app;
