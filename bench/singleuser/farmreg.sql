-- Single-user statements for the instruction counts (scripts/bench.sh,
-- callgrind over `postgres --single`): the same work as
-- bench/pgbench/farmreg.sql, prepared once, executed once per registration.
-- Lines after "-- per registration" are repeated with {k}, {uid} (the
-- request's USDA id), {f} (that farm's id) and {i} (1, 2, ...) filled in.
-- One statement per line.  Each run starts from the seed registrations
-- (scripts/bench.sh cleans up before it, outside the count).
SET farmreg.password_opslimit = 1
SET farmreg.password_memlimit = 8
PREPARE r(text, text) AS SELECT * FROM farmreg.register_farm_admin('u' || $1, 'correct horse battery staple', 'Farmer ' || $1, 'u' || $1 || '@example.com', $2)
-- per registration
EXECUTE r('{k}', '{uid}')
