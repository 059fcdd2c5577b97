--
-- idempotency: retries with a key return the stored result
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS farmreg;
CREATE EXTENSION farmreg;
RESET client_min_messages;
SET farmreg.password_opslimit = 1;
SET farmreg.password_memlimit = '8kB';
INSERT INTO farmreg.usda_farms (usda_uid, name)
SELECT 'USDA-' || g, 'Farm ' || g FROM generate_series(1, 10) AS g;

-- the first call registers
SELECT ok, user_id, farm_id, farmer_id, errors
  FROM farmreg.register_farm_admin('kim', 'pw-SECRET-kim-1', 'Kim', 'kim@example.com', 'USDA-1', 'req-0001');

-- A retry after a lost connection: same key, same request (the password is
-- not compared, white space is trimmed) -> the same ids, and nothing written.
-- Hashing is made so expensive here that a retry which hashed would hit the
-- statement timeout: a stored result must not pay for the hash.
SET farmreg.password_opslimit = 20;
SET farmreg.password_memlimit = '1GB';
SET statement_timeout = '5s';
SELECT ok, user_id, farm_id, farmer_id, error_code, failed_step, message, errors
  FROM farmreg.register_farm_admin(' kim ', 'pw-SECRET-other', 'Kim', 'kim@example.com', 'USDA-1', ' req-0001 ');
-- The password is not compared, so a retry whose password breaks the rules
-- (too short, too long, NULL) is the same request: its stored result, a
-- success, which never carries errors.
SELECT pw_case, ok, user_id, error_code, failed_step, errors
  FROM (VALUES ('short', 'short'), ('too long', repeat('x', 1025)), ('NULL', NULL)) AS c(pw_case, pw),
       LATERAL farmreg.register_farm_admin('kim', c.pw, 'Kim', 'kim@example.com', 'USDA-1', 'req-0001');
-- nor does a request that validation rejects
SELECT ok, error_code
  FROM farmreg.register_farm_admin('kim2', 'pw-SECRET-kim-2', '', 'kim2@example.com', 'USDA-2', 'req-0002');
RESET statement_timeout;
SET farmreg.password_opslimit = 1;
SET farmreg.password_memlimit = '8kB';
SELECT (SELECT count(*) FROM farmreg.users) AS users,
       (SELECT count(*) FROM farmreg.farms) AS farms,
       (SELECT count(*) FROM farmreg.farmers) AS farmers,
       (SELECT count(*) FROM farmreg.idempotency_keys) AS keys;

-- same key, a different request -> idempotency_key_reused, found in validation
SELECT ok, user_id, error_code, failed_step, message = farmreg.error_message('idempotency_key_reused') AS copy,
       errors->0->>'field' AS field
  FROM farmreg.register_farm_admin('kim', 'pw-SECRET-kim-1', 'Kim Lee', 'kim@example.com', 'USDA-1', 'req-0001');
SELECT ok, error_code
  FROM farmreg.register_farm_admin('lee', 'pw-SECRET-lee-1', 'Lee', 'lee@example.com', 'USDA-2', 'req-0001');
-- format errors of the other fields are still reported beside it
SELECT ok, jsonb_path_query_array(errors, '$[*].code') AS codes
  FROM farmreg.register_farm_admin('lee', 'short', 'Lee', 'lee@example.com', 'USDA-2', 'req-0001');

-- keys are compared exactly (after trimming): another case is another key,
-- and the same request under a new key is an ordinary duplicate
SELECT ok, error_code, failed_step
  FROM farmreg.register_farm_admin('kim', 'pw-SECRET-kim-1', 'Kim', 'kim@example.com', 'USDA-1', 'REQ-0001');

-- a failed registration does not use up its key
SELECT ok, error_code
  FROM farmreg.register_farm_admin('moe', 'pw-SECRET-moe-12', 'Moe', 'moe@example.com', 'USDA-404', 'req-0003');
SELECT ok, user_id IS NOT NULL AS registered
  FROM farmreg.register_farm_admin('moe', 'pw-SECRET-moe-12', 'Moe', 'moe@example.com', 'USDA-3', 'req-0003');
SELECT ok, user_id = (SELECT id FROM farmreg.users WHERE username = 'moe') AS same_user
  FROM farmreg.register_farm_admin('moe', 'pw-SECRET-moe-12', 'Moe', 'moe@example.com', 'USDA-3', 'req-0003');

-- a key registered inside a transaction that rolls back is gone with it
BEGIN;
SELECT ok FROM farmreg.register_farm_admin('ned', 'pw-SECRET-ned-1', 'Ned', 'ned@example.com', 'USDA-4', 'req-0004');
ROLLBACK;
SELECT ok, user_id IS NOT NULL AS registered
  FROM farmreg.register_farm_admin('ned', 'pw-SECRET-ned-1', 'Ned', 'ned@example.com', 'USDA-4', 'req-0004');

-- what a key row holds: the key, a digest of the request, the ids; no password
SELECT key, length(request_digest) AS digest_bytes, user_id, farm_id, farmer_id
  FROM farmreg.idempotency_keys ORDER BY key;
SELECT count(*) AS rows_mentioning_a_password
  FROM farmreg.idempotency_keys AS k
 WHERE k::text LIKE '%pw-SECRET%' OR encode(k.request_digest, 'escape') LIKE '%pw-SECRET%';

-- purge_idempotency_keys forgets keys older than the given age (default 24 hours)
UPDATE farmreg.idempotency_keys SET created_at = now() - interval '2 days' WHERE key = 'req-0001';
UPDATE farmreg.idempotency_keys SET created_at = now() - interval '3 hours' WHERE key = 'req-0003';
SELECT farmreg.purge_idempotency_keys() AS purged_default;
SELECT farmreg.purge_idempotency_keys('1 hour') AS purged_hour;
SELECT farmreg.purge_idempotency_keys('1 hour') AS purged_again;
SELECT key FROM farmreg.idempotency_keys;
-- a forgotten key is free again; the request it made is now an ordinary duplicate
SELECT ok, error_code
  FROM farmreg.register_farm_admin('kim', 'pw-SECRET-kim-1', 'Kim', 'kim@example.com', 'USDA-1', 'req-0001');

-- removing a user removes its keys
DELETE FROM farmreg.farmers WHERE user_id = (SELECT id FROM farmreg.users WHERE username = 'ned');
DELETE FROM farmreg.users WHERE username = 'ned';
SELECT count(*) AS ned_keys FROM farmreg.idempotency_keys WHERE key = 'req-0004';

DROP EXTENSION farmreg;
