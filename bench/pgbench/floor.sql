-- The floor: one statement doing the same lookups and the three inserts,
-- with no field rules, no error collection, no subtransaction.  The lookups
-- gate the inserts (a taken username, email or farm inserts nothing); the
-- password hash is the same argon2id as farmreg's.
\set n :n + 1
\set k :base + :client_id + :nclients * :n
\set uid 10000000 + (:k * 482711) % :farms + 1
WITH free AS (
    SELECT f.id, f.name FROM farmreg.usda_farms AS f
     WHERE f.usda_uid = :uid::text
       AND NOT EXISTS (SELECT FROM farmreg.farms AS fm WHERE fm.usda_farm_id = f.id)
       AND NOT EXISTS (SELECT FROM farmreg.users AS u WHERE lower(u.username COLLATE "C") = lower('u' || :k))
       AND NOT EXISTS (SELECT FROM farmreg.users AS u WHERE lower(u.email COLLATE "C") = lower('u' || :k || '@example.com'))),
new_user AS (
    INSERT INTO farmreg.users (username, email, name, password_hash)
    SELECT 'u' || :k, 'u' || :k || '@example.com', 'Farmer ' || :k, bench.argon2id('correct horse battery staple', 1, 8)
      FROM free
    RETURNING id),
new_farm AS (
    INSERT INTO farmreg.farms (name, usda_farm_id)
    SELECT free.name, free.id FROM free, new_user
    RETURNING id),
new_farmer AS (
    INSERT INTO farmreg.farmers (user_id, farm_id, is_admin)
    SELECT new_user.id, new_farm.id, true FROM new_user, new_farm
    RETURNING id)
SELECT new_user.id AS user_id, new_farm.id AS farm_id, new_farmer.id AS farmer_id
  FROM new_user, new_farm, new_farmer;
