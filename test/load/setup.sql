-- test/load/setup.sql -- the load database: farmreg, USDA records LOAD-1..N
-- (psql variable farms), and the load's own bookkeeping in schema
-- farmreg_load: every call's result, and the registrations churn removed.
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
CREATE UNLOGGED TABLE farmreg_load.churned (
    user_id bigint NOT NULL,
    farm_id bigint NOT NULL,
    farmer_id bigint NOT NULL
);

-- Removes the registration of a username, all of it at once: what the
-- operator (or a later deregister_farm_admin) does.  1 if there was one.
CREATE FUNCTION farmreg_load.deregister(p_username text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    uid bigint;
BEGIN
    SELECT u.id INTO uid FROM farmreg.users AS u
     WHERE lower(u.username) = lower(p_username)
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    WITH gone AS (
        DELETE FROM farmreg.farmers AS fr WHERE fr.user_id = uid
        RETURNING fr.user_id, fr.farm_id, fr.id
    )
    INSERT INTO farmreg_load.churned SELECT * FROM gone;
    DELETE FROM farmreg.farms AS f
     WHERE f.id IN (SELECT c.farm_id FROM farmreg_load.churned AS c WHERE c.user_id = uid);
    DELETE FROM farmreg.users AS u WHERE u.id = uid;   -- idempotency keys cascade
    RETURN 1;
END
$$;
