-- farmreg, a request rejected by a field rule: the password is too short.
-- The other fields are valid, so farmreg still looks them up.
\set n :n + 1
\set k :base + :client_id + :nclients * :n
\set uid 10000000 + (:k * 482711) % :farms + 1
SELECT * FROM farmreg.register_farm_admin('u' || :k, 'short', 'Farmer ' || :k, 'u' || :k || '@example.com', :uid);
