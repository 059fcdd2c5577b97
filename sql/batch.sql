--
-- batch: register_farm_admins(jsonb), each request judged as a single call
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS farmreg;
CREATE EXTENSION farmreg;
RESET client_min_messages;
SET farmreg.password_opslimit = 1;
SET farmreg.password_memlimit = '8kB';
INSERT INTO farmreg.usda_farms (usda_uid, name)
SELECT 'USDA-' || g, 'Farm ' || g FROM generate_series(1, 6000) AS g;

CREATE FUNCTION row_counts(OUT users bigint, OUT farms bigint, OUT farmers bigint,
                           OUT keys bigint, OUT events bigint)
LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM farmreg.users), (SELECT count(*) FROM farmreg.farms),
           (SELECT count(*) FROM farmreg.farmers), (SELECT count(*) FROM farmreg.idempotency_keys),
           (SELECT count(*) FROM farmreg.events)
$$;

SELECT ok FROM farmreg.register_farm_admin('already', 'pw-SECRET-already', 'Already', 'already@example.com', 'USDA-1');

-- Good and bad requests together, and duplicates inside the batch: the first
-- one wins and the later ones get the codes a later single call would get.
-- A field that is not a JSON string or null (the last two) is not_a_string,
-- never converted to text.
SELECT ordinal, ok, user_id IS NOT NULL AS registered, error_code, failed_step,
       message = farmreg.error_message(error_code) AS copy,
       jsonb_path_query_array(errors, '$[*].code') AS codes
  FROM farmreg.register_farm_admins($$[
    {"username": "ann",  "password": "pw-SECRET-ann-1", "name": "Ann",  "email": "ann@example.com",  "usda_uid": "USDA-2"},
    {"username": "x",    "password": "short",           "name": "",     "email": "nope",             "usda_uid": "USDA-3"},
    {"username": "ANN",  "password": "pw-SECRET-ann-2", "name": "Ann 2", "email": "ann2@example.com", "usda_uid": "USDA-4"},
    {"username": "bea",  "password": "pw-SECRET-bea-1", "name": "Bea",  "email": "Ann@Example.com",  "usda_uid": "USDA-5"},
    {"username": "cid",  "password": "pw-SECRET-cid-1", "name": "Cid",  "email": "cid@example.com",  "usda_uid": "USDA-2"},
    {"username": "already", "password": "pw-SECRET-x-12", "name": "Dup", "email": "dup@example.com", "usda_uid": "USDA-6"},
    {"username": "dee",  "password": "pw-SECRET-dee-1", "name": "Dee",  "email": "dee@example.com",  "usda_uid": "USDA-404"},
    {"username": "eli",  "password": "pw-SECRET-eli-1", "name": "Eli",  "email": "eli@example.com",  "usda_uid": "USDA-7", "idempotency_key": "legacy-7"},
    {"username": " eli ", "password": "pw-SECRET-other", "name": "Eli", "email": "eli@example.com",  "usda_uid": "USDA-7", "idempotency_key": "legacy-7"},
    {"username": "fay",  "password": "pw-SECRET-fay-1", "name": "Fay",  "email": "fay@example.com",  "usda_uid": "USDA-8", "idempotency_key": "legacy-7"},
    {"username": "gus",  "password": "pw-SECRET-gus-1", "name": "Gus",  "email": "gus@example.com",  "usda_uid": "USDA-9"},
    {"password": "pw-SECRET-hal-1", "name": "Hal", "usda_uid": "USDA-10"},
    {"username": "ivy",  "password": "pw-SECRET-ivy-1", "name": "Ivy",  "email": "ivy@example.com",  "usda_uid": 11},
    {"username": "ivy2", "password": "pw-SECRET-ivy-2", "name": ["not", "text"], "email": "ivy2@example.com", "usda_uid": null},
    {"username": "joe",  "password": ["hunter22hunter22"], "name": false, "email": "jo@example.com", "usda_uid": "USDA-12", "idempotency_key": {"k": 1}}
  ]$$)
 ORDER BY ordinal;
-- (the field of each not_a_string)
SELECT ordinal, jsonb_path_query_array(errors, '$[*] ? (@.code == "not_a_string").field') AS not_strings
  FROM farmreg.register_farm_admins($$[
    {"username": "joe", "password": ["hunter22hunter22"], "name": false, "email": "joe@example.com", "usda_uid": 12, "idempotency_key": {"k": 1}}
  ]$$);

-- a repeat of a key inside the batch got the same ids as its first use
SELECT count(DISTINCT user_id) AS users_for_legacy_7
  FROM farmreg.register_farm_admins($$[
    {"username": "eli", "password": "pw-SECRET-eli-1", "name": "Eli", "email": "eli@example.com", "usda_uid": "USDA-7", "idempotency_key": "legacy-7"}
  ]$$) UNION ALL
SELECT count(*) FROM farmreg.idempotency_keys WHERE key = 'legacy-7';

-- the copy follows the locale argument
SELECT ordinal, message = farmreg.error_message(error_code, 'es') AS spanish
  FROM farmreg.register_farm_admins('[{"username": "zz"}]', 'es-MX');

-- an empty batch is an empty result
SELECT count(*) AS results FROM farmreg.register_farm_admins('[]');

-- Malformed input is an error (22023) that says what was expected
SELECT * FROM farmreg.register_farm_admins('{"username": "solo"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM farmreg.register_farm_admins('[{"username": "one"}, "two"]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM farmreg.register_farm_admins('"just text"');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM farmreg.register_farm_admins(NULL);
\echo :LAST_ERROR_SQLSTATE

-- A legacy import: a staging table turned into a batch, keyed by the legacy
-- id.  Re-running it returns the same ids and writes nothing.
CREATE TEMP TABLE legacy_suppliers (legacy_id int, login text, secret text, full_name text,
                                    mail text, usda text);
INSERT INTO legacy_suppliers
SELECT g, 'supplier' || g, 'pw-SECRET-legacy-' || g, 'Supplier ' || g,
       'supplier' || g || '@farms.example', 'USDA-' || (100 + g)
  FROM generate_series(1, 50) AS g;
UPDATE legacy_suppliers SET mail = 'broken-address' WHERE legacy_id IN (7, 21);
-- the staging table as a batch, the legacy id as the idempotency key
CREATE TEMP VIEW legacy_batch AS
SELECT jsonb_agg(jsonb_build_object('username', login, 'password', secret, 'name', full_name,
                                    'email', mail, 'usda_uid', usda,
                                    'idempotency_key', 'legacy-supplier-' || legacy_id)
                 ORDER BY legacy_id) AS requests
  FROM legacy_suppliers;
CREATE TEMP TABLE import_1 AS
SELECT * FROM farmreg.register_farm_admins(
    (SELECT requests FROM legacy_batch));
SELECT count(*) FILTER (WHERE ok) AS registered, count(*) FILTER (WHERE NOT ok) AS rejected,
       string_agg(DISTINCT error_code, ',') AS codes FROM import_1;
SELECT * FROM row_counts();
CREATE TEMP TABLE import_2 AS
SELECT * FROM farmreg.register_farm_admins(
    (SELECT requests FROM legacy_batch));
SELECT count(*) AS same_results
  FROM import_1 JOIN import_2 USING (ordinal)
 WHERE import_1.ok = import_2.ok
   AND import_1.user_id IS NOT DISTINCT FROM import_2.user_id
   AND import_1.farm_id IS NOT DISTINCT FROM import_2.farm_id
   AND import_1.farmer_id IS NOT DISTINCT FROM import_2.farmer_id
   AND import_1.error_code IS NOT DISTINCT FROM import_2.error_code;
SELECT * FROM row_counts();
-- fix the two bad rows and run it again: only they are new
UPDATE legacy_suppliers SET mail = 'supplier' || legacy_id || '@farms.example' WHERE legacy_id IN (7, 21);
SELECT count(*) FILTER (WHERE ok) AS ok, count(*) FILTER (WHERE NOT ok) AS rejected
  FROM farmreg.register_farm_admins(
    (SELECT requests FROM legacy_batch));
SELECT * FROM row_counts();

-- A failure inside the database in one row's create_farmer rolls back only
-- that row; the rows before and after it in the same chunk are registered.
CREATE FUNCTION fail_for_victim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT username FROM farmreg.users WHERE id = NEW.user_id) = 'victim' THEN
        RAISE EXCEPTION 'injected failure for the victim' USING ERRCODE = 'FR004';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER inject BEFORE INSERT ON farmreg.farmers
    FOR EACH ROW EXECUTE FUNCTION fail_for_victim();
SELECT ordinal, ok, error_code, failed_step, errors->0->>'sqlstate' AS sqlstate
  FROM farmreg.register_farm_admins($$[
    {"username": "before", "password": "pw-SECRET-before", "name": "Before", "email": "before@example.com", "usda_uid": "USDA-300"},
    {"username": "victim", "password": "pw-SECRET-victim", "name": "Victim", "email": "victim@example.com", "usda_uid": "USDA-301", "idempotency_key": "victim-key"},
    {"username": "after",  "password": "pw-SECRET-after1", "name": "After",  "email": "after@example.com",  "usda_uid": "USDA-302"}
  ]$$);
DROP TRIGGER inject ON farmreg.farmers;
SELECT username FROM farmreg.users WHERE username IN ('before', 'victim', 'after') ORDER BY id;
SELECT count(*) AS victim_rows FROM farmreg.farms WHERE usda_farm_id = 301;
SELECT count(*) AS victim_keys FROM farmreg.idempotency_keys WHERE key = 'victim-key';

-- A race lost inside the database maps to its code for that row only
CREATE FUNCTION steal_email() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.username = 'racer' THEN
        INSERT INTO farmreg.users (username, email, name, password_hash)
        VALUES ('thief', 'RACER@example.com', 'Thief', '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA');
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER race BEFORE INSERT ON farmreg.users
    FOR EACH ROW EXECUTE FUNCTION steal_email();
SELECT ordinal, ok, error_code, failed_step
  FROM farmreg.register_farm_admins($$[
    {"username": "runner", "password": "pw-SECRET-runner", "name": "Runner", "email": "runner@example.com", "usda_uid": "USDA-310"},
    {"username": "racer",  "password": "pw-SECRET-racer1", "name": "Racer",  "email": "racer@example.com",  "usda_uid": "USDA-311"}
  ]$$);
DROP TRIGGER race ON farmreg.users;

-- The transaction-id budget: 3,000 requests, 10% of them rejected by
-- validation, are written in one subtransaction (12 chunks of 256, one
-- statement each).  The count also holds the statement's own transaction
-- and any the wakeup worker's notifications took meanwhile.
SELECT txid_current() AS xid_before \gset
SELECT count(*) FILTER (WHERE ok) AS registered, count(*) FILTER (WHERE NOT ok) AS rejected
  FROM farmreg.register_farm_admins(
    (SELECT jsonb_agg(jsonb_build_object(
                'username', 'bulk' || g, 'password', 'pw-SECRET-bulk-' || g, 'name', 'Bulk ' || g,
                'email', CASE WHEN g % 10 = 0 THEN 'not-an-email' ELSE 'bulk' || g || '@example.com' END,
                'usda_uid', 'USDA-' || (1000 + g)) ORDER BY g)
       FROM generate_series(1, 3000) AS g));
SELECT txid_current() - :xid_before - 1 AS xids_used \gset
SELECT :xids_used <= 5 AS within_budget, :xids_used >= 1 AS used_some;
-- every registered request has its three rows and its event
SELECT count(*) AS bulk_users_without_farm
  FROM farmreg.users AS u
 WHERE u.username LIKE 'bulk%'
   AND NOT EXISTS (SELECT FROM farmreg.farmers AS f WHERE f.user_id = u.id AND f.is_admin);
SELECT count(*) AS bulk_events FROM farmreg.events WHERE payload->>'username' LIKE 'bulk%';

-- Finding the requests that fail is cheap: halving the chunk that failed
-- (rolled-back probes), not running the rest again after every failure.
-- 256 requests of which 8 fail inside the database: the INSERT statements
-- on farmreg.users, counted by a statement trigger (sequences do not roll
-- back), stay within failures x 2 log2(256) plus a few.
CREATE SEQUENCE users_insert_statements;
CREATE FUNCTION count_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('public.users_insert_statements');
    RETURN NULL;
END
$$;
CREATE TRIGGER count_statements BEFORE INSERT ON farmreg.users
    FOR EACH STATEMENT EXECUTE FUNCTION count_statement();
CREATE FUNCTION fail_for_doomed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.name LIKE 'Doomed%' THEN
        RAISE EXCEPTION 'injected failure for %', NEW.name USING ERRCODE = 'FR005';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER inject BEFORE INSERT ON farmreg.farms
    FOR EACH ROW EXECUTE FUNCTION fail_for_doomed();
UPDATE farmreg.usda_farms SET name = 'Doomed ' || id WHERE usda_uid IN
    (SELECT 'USDA-' || (5000 + g * 31) FROM generate_series(1, 8) AS g);
SELECT count(*) FILTER (WHERE ok) AS registered,
       count(*) FILTER (WHERE error_code = 'internal_error' AND failed_step = 'create_farm') AS failed
  FROM farmreg.register_farm_admins(
    (SELECT jsonb_agg(jsonb_build_object(
                'username', 'cheap' || g, 'password', 'pw-SECRET-cheap-' || g, 'name', 'Cheap ' || g,
                'email', 'cheap' || g || '@example.com', 'usda_uid', 'USDA-' || (5000 + g)) ORDER BY g)
       FROM generate_series(1, 256) AS g));
SELECT last_value AS statements, last_value <= 8 * 2 * 8 + 8 + 3 AS within_bound
  FROM users_insert_statements;
DROP TRIGGER inject ON farmreg.farms;
DROP TRIGGER count_statements ON farmreg.users;

-- A batch larger than farmreg.max_batch_requests is refused whole, with
-- SQLSTATE 54000 (program_limit_exceeded), before anything is judged.
SET farmreg.max_batch_requests = 2;
\set VERBOSITY default
SELECT count(*) FROM farmreg.register_farm_admins('[{}, {}, {}]');
RESET farmreg.max_batch_requests;
SELECT count(*) AS at_the_limit FROM farmreg.register_farm_admins('[{}, {}]');

-- Every registration's payload is exactly what jsonb_build_object makes of
-- the rows as stored (ids as numbers, the fields as strings).
SELECT count(*) AS registered_events,
       count(*) FILTER (WHERE e.payload = jsonb_build_object(
                 'user_id', u.id, 'farm_id', f.id, 'farmer_id', fm.id,
                 'username', u.username, 'email', u.email, 'name', u.name,
                 'usda_uid', uf.usda_uid)
             AND e.payload::text = jsonb_build_object(
                 'user_id', u.id, 'farm_id', f.id, 'farmer_id', fm.id,
                 'username', u.username, 'email', u.email, 'name', u.name,
                 'usda_uid', uf.usda_uid)::text) AS exact_payloads
  FROM farmreg.events AS e
  JOIN farmreg.users AS u ON u.id = e.user_id
  JOIN farmreg.farmers AS fm ON fm.user_id = u.id AND fm.is_admin
  JOIN farmreg.farms AS f ON f.id = fm.farm_id
  JOIN farmreg.usda_farms AS uf ON uf.id = f.usda_farm_id
 WHERE e.type = 'farm_admin_registered';

DROP FUNCTION fail_for_victim(), steal_email(), row_counts(), count_statement(),
    fail_for_doomed();
DROP SEQUENCE users_insert_statements;
DROP EXTENSION farmreg;
