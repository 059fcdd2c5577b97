-- Single-user statements for the instruction counts: bench/pgbench/plpgsql_simple.sql.
-- (Format: see farmreg.sql.)
PREPARE r(text, text) AS SELECT * FROM bench.register_farm_admin_simple('u' || $1, 'correct horse battery staple', 'Farmer ' || $1, 'u' || $1 || '@example.com', $2)
-- per registration
EXECUTE r('{k}', '{uid}')
