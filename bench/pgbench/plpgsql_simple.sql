-- The simplest PL/pgSQL peer (bench/plpgsql_simple.sql), called the same way.
\set n :n + 1
\set k :base + :client_id + :nclients * :n
\set uid 10000000 + (:k * 482711) % :farms + 1
SELECT * FROM bench.register_farm_admin_simple('u' || :k, 'correct horse battery staple', 'Farmer ' || :k, 'u' || :k || '@example.com', :uid);
