-- bench/setup.sql -- the benchmark database: farmreg, the fake USDA farms and
-- the bench schema (helpers and the peers).  Run by scripts/bench.sh with
--   psql -v farms=N -v hashlib='$libdir/farmreg_bench_hash'
\set ON_ERROR_STOP 1

CREATE EXTENSION farmreg;
CREATE SCHEMA bench;

-- The argon2id hash the peers pay, with the same libsodium call and costs as
-- farmreg (bench/hash/farmreg_bench_hash.c).
CREATE FUNCTION bench.argon2id(password text, opslimit integer, memlimit_kb integer)
RETURNS text
AS :'hashlib', 'bench_argon2id'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

-- The k-th request of a run claims farm usda_uid(k): a permutation of the
-- farms (482711 is prime, so k -> k * 482711 mod farms is one-to-one when
-- farms is not a multiple of it), so consecutive requests touch farms all
-- over the table, as real sign-ups would.  The pgbench scripts compute the
-- same number with pgbench expressions; this is for psql.
CREATE FUNCTION bench.usda_uid(k bigint, farms bigint)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT
AS $$ SELECT (10000000 + (k * 482711) % farms + 1)::text $$;

-- 1,000,000 fake USDA farms in one INSERT ... SELECT (the indexes are the
-- extension's own and stay in place).
INSERT INTO farmreg.usda_farms (id, usda_uid, name, address)
SELECT i,
       (10000000 + i)::text,
       'Green Acres Farm #' || i,
       (i % 9000 + 100) || ' County Road ' || (i % 97) || ', Springfield'
  FROM generate_series(1, :farms) AS i;
SELECT pg_catalog.setval('farmreg.usda_farms_id_seq', :farms);

-- Settle the table now, so autovacuum has no reason to run during the runs.
VACUUM (FREEZE, ANALYZE) farmreg.usda_farms;
