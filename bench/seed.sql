-- bench/seed.sql -- farm admins who registered before the benchmark started.
--
-- Every run starts from these rows (scripts/bench.sh deletes what a run added
-- and vacuums), never from empty tables: plans made while a table is empty
-- use sequential scans, a cached plan keeps them while the table grows, and
-- throughput then falls with every registration of the run (on this machine
-- from ~1000/s to ~250/s within 8 s, for all four variants alike).
--
-- Seed k (k = farms/2 + 1 .. farms/2 + seed) claims farm usda_uid(k); the
-- runs use k below farms/2, so no run collides with a seed.  ids 1 .. seed.
--   psql -v seed=N -v farms=M
\set ON_ERROR_STOP 1
SELECT :farms / 2 AS k0 \gset

-- the tables are empty; restart the ids (earlier checks used some up)
TRUNCATE farmreg.users, farmreg.farms, farmreg.farmers, farmreg.idempotency_keys RESTART IDENTITY;

INSERT INTO farmreg.users (username, email, name, password_hash)
SELECT 'seed' || k, 'seed' || k || '@example.org', 'Seed Farmer ' || k, h.hash
  FROM generate_series(:k0 + 1, :k0 + :seed) AS k,
       (SELECT bench.argon2id('seed password', 1, 8) AS hash) AS h
 ORDER BY k;

INSERT INTO farmreg.farms (name, usda_farm_id)
SELECT f.name, f.id
  FROM generate_series(:k0 + 1, :k0 + :seed) AS k
  JOIN farmreg.usda_farms AS f ON f.usda_uid = bench.usda_uid(k, :farms)
 ORDER BY k;

INSERT INTO farmreg.farmers (user_id, farm_id, is_admin)
SELECT i, i, true FROM generate_series(1, :seed) AS i;

VACUUM (ANALYZE) farmreg.users, farmreg.farms, farmreg.farmers, farmreg.idempotency_keys;
