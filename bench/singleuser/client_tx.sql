-- Single-user statements for the instruction counts: bench/pgbench/client_tx.sql,
-- with the values the client would read back (\gset) filled in (the new
-- user's and farm's ids as currval of their sequences).
-- Server work only: the round trips (the point of this variant) are not in
-- these counts.  (Format: see farmreg.sql.)
PREPARE l1(text) AS SELECT f.id AS usda_id, f.name AS farm_name FROM farmreg.usda_farms AS f WHERE f.usda_uid = $1
PREPARE l2(bigint) AS SELECT EXISTS (SELECT FROM farmreg.farms AS fm WHERE fm.usda_farm_id = $1)::int AS farm_claimed
PREPARE l3(text) AS SELECT EXISTS (SELECT FROM farmreg.users AS u WHERE lower(u.username COLLATE "C") = lower('u' || $1))::int AS username_taken
PREPARE l4(text) AS SELECT EXISTS (SELECT FROM farmreg.users AS u WHERE lower(u.email COLLATE "C") = lower('u' || $1 || '@example.com'))::int AS email_taken
PREPARE i1(text) AS INSERT INTO farmreg.users (username, email, name, password_hash) VALUES ('u' || $1, 'u' || $1 || '@example.com', 'Farmer ' || $1, bench.argon2id('correct horse battery staple', 1, 8)) RETURNING id AS user_id
PREPARE i2(text, bigint) AS INSERT INTO farmreg.farms (name, usda_farm_id) VALUES ($1, $2) RETURNING id AS farm_id
PREPARE i3(bigint, bigint) AS INSERT INTO farmreg.farmers (user_id, farm_id, is_admin) VALUES ($1, $2, true) RETURNING id AS farmer_id
-- per registration
BEGIN
EXECUTE l1('{uid}')
EXECUTE l2({f})
EXECUTE l3('{k}')
EXECUTE l4('{k}')
EXECUTE i1('{k}')
EXECUTE i2('Green Acres Farm #{f}', {f})
EXECUTE i3(currval('farmreg.users_id_seq'), currval('farmreg.farms_id_seq'))
COMMIT
