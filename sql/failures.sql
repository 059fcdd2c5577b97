--
-- failures: errors inside the steps, races between check and insert, and
-- the conditions that must be re-raised rather than turned into a result
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS farmreg;
CREATE EXTENSION farmreg;
RESET client_min_messages;
SET farmreg.password_opslimit = 1;
SET farmreg.password_memlimit = '8kB';
INSERT INTO farmreg.usda_farms (usda_uid, name)
SELECT 'USDA-' || g, 'Farm ' || g FROM generate_series(1, 20) AS g;

CREATE FUNCTION row_counts(OUT users bigint, OUT farms bigint, OUT farmers bigint, OUT keys bigint)
LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM farmreg.users), (SELECT count(*) FROM farmreg.farms),
           (SELECT count(*) FROM farmreg.farmers), (SELECT count(*) FROM farmreg.idempotency_keys)
$$;

-- A test trigger that fails with a given SQLSTATE on the table it is put on.
CREATE FUNCTION fail_with() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'injected failure on %', TG_TABLE_NAME USING ERRCODE = TG_ARGV[0];
END
$$;

-- a failure injected in create_farmer: internal_error, its SQLSTATE, the
-- step; none of the call's rows remain, and the caller's transaction goes on
CREATE TEMP TABLE caller_work (note text);
CREATE TRIGGER inject BEFORE INSERT ON farmreg.farmers
    FOR EACH ROW EXECUTE FUNCTION fail_with('FR001');
BEGIN;
INSERT INTO caller_work VALUES ('before the call');
SELECT ok, user_id, farm_id, farmer_id, error_code, failed_step,
       message = farmreg.error_message('internal_error') AS copy, errors->0->>'sqlstate' AS sqlstate,
       errors->0->'field' AS field
  FROM farmreg.register_farm_admin('pat', 'pw-SECRET-pat-12', 'Pat', 'pat@example.com', 'USDA-1', 'key-pat');
SELECT * FROM row_counts();
INSERT INTO caller_work VALUES ('after the call');
COMMIT;
SELECT note FROM caller_work ORDER BY note;
DROP TRIGGER inject ON farmreg.farmers;

-- the same in create_user and create_farm
CREATE TRIGGER inject BEFORE INSERT ON farmreg.users
    FOR EACH ROW EXECUTE FUNCTION fail_with('FR002');
SELECT ok, error_code, failed_step, errors->0->>'sqlstate' AS sqlstate
  FROM farmreg.register_farm_admin('pat', 'pw-SECRET-pat-12', 'Pat', 'pat@example.com', 'USDA-1');
DROP TRIGGER inject ON farmreg.users;
CREATE TRIGGER inject BEFORE INSERT ON farmreg.farms
    FOR EACH ROW EXECUTE FUNCTION fail_with('FR003');
SELECT ok, error_code, failed_step, errors->0->>'sqlstate' AS sqlstate
  FROM farmreg.register_farm_admin('pat', 'pw-SECRET-pat-12', 'Pat', 'pat@example.com', 'USDA-1');
DROP TRIGGER inject ON farmreg.farms;
SELECT * FROM row_counts();

-- an internal failure does not use up the idempotency key either
SELECT ok, user_id IS NOT NULL AS registered
  FROM farmreg.register_farm_admin('pat', 'pw-SECRET-pat-12', 'Pat', 'pat@example.com', 'USDA-1', 'key-pat');

-- the caller's savepoints and later statements are untouched by a failure
CREATE TRIGGER inject BEFORE INSERT ON farmreg.farmers
    FOR EACH ROW EXECUTE FUNCTION fail_with('FR001');
BEGIN;
SAVEPOINT mine;
SELECT ok, failed_step FROM farmreg.register_farm_admin('quinn', 'pw-SECRET-quinn-1', 'Quinn', 'quinn@example.com', 'USDA-2');
ROLLBACK TO SAVEPOINT mine;
DROP TRIGGER inject ON farmreg.farmers;
SELECT ok FROM farmreg.register_farm_admin('quinn', 'pw-SECRET-quinn-1', 'Quinn', 'quinn@example.com', 'USDA-2');
COMMIT;
SELECT username FROM farmreg.users ORDER BY id;

-- A unique violation between check and insert: a test trigger inserts the
-- conflicting row just before ours, as another session winning the race
-- would.  It maps to the validation code, with the step that met it.
CREATE FUNCTION steal(what text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO farmreg.users (username, email, name, password_hash)
    VALUES (CASE WHEN what = 'username' THEN 'RAY' ELSE 'thief' END,
            CASE WHEN what = 'email' THEN 'RAY@example.com' ELSE 'thief@example.com' END,
            'Thief', '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA')
$$;
CREATE FUNCTION race_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.username <> 'thief' AND NEW.username <> 'RAY' THEN
        PERFORM public.steal(TG_ARGV[0]);  -- the caller pins search_path
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER race BEFORE INSERT ON farmreg.users
    FOR EACH ROW EXECUTE FUNCTION race_users('email');
SELECT ok, error_code, failed_step, message = farmreg.error_message('email_already_claimed') AS copy,
       errors->0->>'field' AS field, jsonb_array_length(errors) AS entries
  FROM farmreg.register_farm_admin('ray', 'pw-SECRET-ray-12', 'Ray', 'ray@example.com', 'USDA-3');
DROP TRIGGER race ON farmreg.users;
CREATE TRIGGER race BEFORE INSERT ON farmreg.users
    FOR EACH ROW EXECUTE FUNCTION race_users('username');
SELECT ok, error_code, failed_step
  FROM farmreg.register_farm_admin('ray', 'pw-SECRET-ray-12', 'Ray', 'ray@example.com', 'USDA-3', 'key-ray');
DROP TRIGGER race ON farmreg.users;

-- the farm claimed by someone else between check and insert: the user row
-- this call had already written is gone too
CREATE FUNCTION race_farms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.name <> 'Stolen' THEN
        INSERT INTO farmreg.farms (name, usda_farm_id) VALUES ('Stolen', NEW.usda_farm_id);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER race BEFORE INSERT ON farmreg.farms
    FOR EACH ROW EXECUTE FUNCTION race_farms();
SELECT ok, error_code, failed_step, errors->0->>'field' AS field
  FROM farmreg.register_farm_admin('ray', 'pw-SECRET-ray-12', 'Ray', 'ray@example.com', 'USDA-3');
DROP TRIGGER race ON farmreg.farms;
SELECT * FROM row_counts();
SELECT ok FROM farmreg.register_farm_admin('ray', 'pw-SECRET-ray-12', 'Ray', 'ray@example.com', 'USDA-3');

-- Whole-transaction conditions are re-raised untouched, never a result:
-- serialization failure, deadlock, and any other transaction rollback ...
CREATE TRIGGER inject BEFORE INSERT ON farmreg.farmers
    FOR EACH ROW EXECUTE FUNCTION fail_with('40001');
SELECT ok FROM farmreg.register_farm_admin('sam', 'pw-SECRET-sam-12', 'Sam', 'sam@example.com', 'USDA-4');
DROP TRIGGER inject ON farmreg.farmers;
CREATE TRIGGER inject BEFORE INSERT ON farmreg.farms
    FOR EACH ROW EXECUTE FUNCTION fail_with('40P01');
SELECT ok FROM farmreg.register_farm_admin('sam', 'pw-SECRET-sam-12', 'Sam', 'sam@example.com', 'USDA-4');
DROP TRIGGER inject ON farmreg.farms;
-- ... operator intervention: admin shutdown, cancel ...
CREATE TRIGGER inject BEFORE INSERT ON farmreg.users
    FOR EACH ROW EXECUTE FUNCTION fail_with('57P01');
SELECT ok FROM farmreg.register_farm_admin('sam', 'pw-SECRET-sam-12', 'Sam', 'sam@example.com', 'USDA-4');
DROP TRIGGER inject ON farmreg.users;
-- ... and the conditions about the server rather than the request, in a
-- step of either kind (a single call, a batch): out of memory and disk full
-- (class 53), I/O errors (58), internal errors and corruption (XX), and
-- lock_not_available (55P03, as lock_timeout raises it) ...
CREATE FUNCTION server_trouble(code text, batch boolean) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        EXECUTE format('CREATE TRIGGER inject BEFORE INSERT ON farmreg.farms'
                       ' FOR EACH ROW EXECUTE FUNCTION fail_with(%L)', code);
        IF batch THEN
            PERFORM farmreg.register_farm_admins(jsonb_build_array(jsonb_build_object(
                'username', 'sam', 'password', 'pw-SECRET-sam-12', 'name', 'Sam',
                'email', 'sam@example.com', 'usda_uid', 'USDA-4')));
        ELSE
            PERFORM farmreg.register_farm_admin('sam', 'pw-SECRET-sam-12', 'Sam',
                                                'sam@example.com', 'USDA-4');
        END IF;
        DROP TRIGGER inject ON farmreg.farms;
        RETURN 'turned into a result';
    EXCEPTION WHEN OTHERS THEN
        RETURN 're-raised ' || SQLSTATE;
    END;
END
$$;
SELECT code, server_trouble(code, false) AS single, server_trouble(code, true) AS batch
  FROM unnest(ARRAY['53100', '53200', '58030', 'XX000', 'XX001', '55P03']) AS code;
-- (each call's trigger went with the block's rolled-back subtransaction)
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgname = 'inject';
-- ... a real statement_timeout while a step is busy ...
CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_sleep(10);
    RETURN NEW;
END
$$;
CREATE TRIGGER slow BEFORE INSERT ON farmreg.farms
    FOR EACH ROW EXECUTE FUNCTION slow();
SET statement_timeout = '200ms';
SELECT ok FROM farmreg.register_farm_admin('sam', 'pw-SECRET-sam-12', 'Sam', 'sam@example.com', 'USDA-4');
RESET statement_timeout;
DROP TRIGGER slow ON farmreg.farms;
-- ... and a read-only transaction, refused before anything is looked at
BEGIN TRANSACTION READ ONLY;
SELECT ok FROM farmreg.register_farm_admin('sam', 'pw-SECRET-sam-12', 'Sam', 'sam@example.com', 'USDA-4');
ROLLBACK;
-- none of them left a row behind
SELECT * FROM row_counts();
SELECT ok FROM farmreg.register_farm_admin('sam', 'pw-SECRET-sam-12', 'Sam', 'sam@example.com', 'USDA-4');

-- an error re-raised inside the caller's transaction aborts it, as any error would
BEGIN;
CREATE TRIGGER inject BEFORE INSERT ON farmreg.farmers
    FOR EACH ROW EXECUTE FUNCTION fail_with('40001');
SELECT ok FROM farmreg.register_farm_admin('tia', 'pw-SECRET-tia-12', 'Tia', 'tia@example.com', 'USDA-5');
SELECT 1;
ROLLBACK;

DROP EXTENSION farmreg;
DROP FUNCTION row_counts(), fail_with(), steal(text), race_users(), race_farms(), slow(),
    server_trouble(text, boolean);
