-- farmreg, a request rejected by a lookup: the username is taken (by the
-- user bench.sh registered first); everything else is valid and free.
\set n :n + 1
\set k :base + :client_id + :nclients * :n
\set uid 10000000 + (:k * 482711) % :farms + 1
SELECT * FROM farmreg.register_farm_admin('taken_user', 'correct horse battery staple', 'Farmer ' || :k, 'u' || :k || '@example.com', :uid);
