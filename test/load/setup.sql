-- test/load/setup.sql -- the load database: farmreg, USDA records LOAD-1..N
-- (psql variable farms), and the load's own bookkeeping in schema
-- farmreg_load: every call's result, and what the outbox consumer was given.
-- The extension may exist already (faults.sh runs the load in its database).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS farmreg;
INSERT INTO farmreg.usda_farms (usda_uid, name, address)
SELECT 'LOAD-' || g, 'Load Farm ' || g, g || ' Furrow Lane'
  FROM generate_series(1, :farms) AS g;

CREATE SCHEMA farmreg_load;
CREATE UNLOGGED TABLE farmreg_load.results (
    kind        integer NOT NULL,
    ok          boolean NOT NULL,
    user_id     bigint,
    farm_id     bigint,
    farmer_id   bigint,
    error_code  text,
    failed_step text
);
-- what the outbox's consumer was given, in the order it was given
CREATE UNLOGGED TABLE farmreg_load.seen (
    n       bigserial,
    id      bigint NOT NULL,
    pos     bigint NOT NULL,
    type    text NOT NULL,
    user_id bigint
);
