-- An Ecto-style client-side transaction (Ecto.Multi over Postgrex, which
-- prepares its statements): BEGIN, one query per lookup (the USDA record,
-- whether its farm is claimed, whether the username and the email are
-- taken), then the three inserts, each id read back before the next, then
-- COMMIT: nine round trips.  Field rules run in the client, for free here.
-- The password hash is the same argon2id as farmreg's, computed in the server
-- inside the users INSERT (so it costs no extra round trip).
\set n :n + 1
\set k :base + :client_id + :nclients * :n
\set uid 10000000 + (:k * 482711) % :farms + 1
BEGIN;
SELECT f.id AS usda_id, f.name AS farm_name FROM farmreg.usda_farms AS f WHERE f.usda_uid = :uid::text \gset
SELECT EXISTS (SELECT FROM farmreg.farms AS fm WHERE fm.usda_farm_id = :usda_id)::int AS farm_claimed \gset
SELECT EXISTS (SELECT FROM farmreg.users AS u WHERE lower(u.username COLLATE "C") = lower('u' || :k))::int AS username_taken \gset
SELECT EXISTS (SELECT FROM farmreg.users AS u WHERE lower(u.email COLLATE "C") = lower('u' || :k || '@example.com'))::int AS email_taken \gset
\if :farm_claimed + :username_taken + :email_taken > 0
ROLLBACK;
\else
INSERT INTO farmreg.users (username, email, name, password_hash) VALUES ('u' || :k, 'u' || :k || '@example.com', 'Farmer ' || :k, bench.argon2id('correct horse battery staple', 1, 8)) RETURNING id AS user_id \gset
INSERT INTO farmreg.farms (name, usda_farm_id) VALUES (:farm_name, :usda_id) RETURNING id AS farm_id \gset
INSERT INTO farmreg.farmers (user_id, farm_id, is_admin) VALUES (:user_id, :farm_id, true) RETURNING id AS farmer_id \gset
COMMIT;
\endif
