-- farmreg: one call of farmreg.register_farm_admin per registration.
-- Request k of client c: username u<k>, email u<k>@example.com, the farm
-- usda_uid(k) (see bench/setup.sql).  -D n=0 -D base=... -D nclients=... -D farms=...
\set n :n + 1
\set k :base + :client_id + :nclients * :n
\set uid 10000000 + (:k * 482711) % :farms + 1
SELECT * FROM farmreg.register_farm_admin('u' || :k, 'correct horse battery staple', 'Farmer ' || :k, 'u' || :k || '@example.com', :uid);
