--
-- register: the happy path and the original app's own test
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS farmreg;
CREATE EXTENSION farmreg;
RESET client_min_messages;
-- cheap hashing for tests (libsodium's minimums)
SET farmreg.password_opslimit = 1;
SET farmreg.password_memlimit = '8kB';

INSERT INTO farmreg.usda_farms (usda_uid, name, address)
SELECT 'USDA-' || g, 'Farm ' || g, g || ' Country Road'
  FROM generate_series(1, 20) AS g;

-- a registration lands three rows and answers with their ids
SELECT * FROM farmreg.register_farm_admin(
    'alice', 'pw-SECRET-alice-1', 'Alice Waters', 'alice@example.com', 'USDA-1');

SELECT id, username, email, name, password_hash LIKE '$argon2id$v=19$m=8,t=1,p=1$%' AS argon2id
  FROM farmreg.users;
SELECT id, name, usda_farm_id FROM farmreg.farms;
SELECT id, user_id, farm_id, is_admin FROM farmreg.farmers;

-- the result type can be taken apart like any composite
SELECT (r).ok, (r).user_id IS NOT NULL AS has_user, jsonb_array_length((r).errors) AS errors
  FROM (SELECT farmreg.register_farm_admin('bob', 'pw-SECRET-bob-12', 'Bob', 'bob@example.com', 'USDA-2') AS r) AS s;

-- surrounding white space is trimmed before anything else; the farm's name
-- comes from its USDA record
SELECT ok, error_code FROM farmreg.register_farm_admin(
    E'  carol\t', 'pw-SECRET-carol-1', E' Carol  King \n', E'\u00a0carol@example.com ', ' USDA-3 ');
SELECT username, email, name FROM farmreg.users WHERE username = 'carol';
SELECT f.name, u.usda_uid FROM farmreg.farms AS f JOIN farmreg.usda_farms AS u ON u.id = f.usda_farm_id
 WHERE u.usda_uid = 'USDA-3';

-- The original app's test: an email already claimed, in another letter case
SELECT ok, user_id, farm_id, farmer_id, error_code, failed_step,
       message = farmreg.error_message('email_already_claimed') AS message_from_catalog,
       errors = jsonb_build_array(jsonb_build_object(
           'field', 'email', 'code', 'email_already_claimed',
           'message', farmreg.error_message('email_already_claimed'))) AS errors_as_documented
  FROM farmreg.register_farm_admin(
    'alice2', 'pw-SECRET-alice-2', 'Alice Again', 'ALICE@Example.COM', 'USDA-4');

-- the username is unique ignoring case too, and a claimed farm stays claimed
SELECT ok, error_code, failed_step, errors->0->>'field' AS field
  FROM farmreg.register_farm_admin('ALICE', 'pw-SECRET-alice-3', 'A', 'a3@example.com', 'USDA-5');
SELECT ok, error_code, failed_step, errors->0->>'field' AS field
  FROM farmreg.register_farm_admin('dora', 'pw-SECRET-dora-1', 'Dora', 'dora@example.com', 'USDA-1');
SELECT ok, error_code, failed_step
  FROM farmreg.register_farm_admin('dora', 'pw-SECRET-dora-1', 'Dora', 'dora@example.com', 'USDA-404');

-- nothing of a rejected registration was written
SELECT count(*) AS users FROM farmreg.users;
SELECT count(*) AS farms FROM farmreg.farms;
SELECT count(*) AS farmers FROM farmreg.farmers;

-- every user has exactly one farmer row, an admin one, on a farm of its own
SELECT u.username, f.is_admin, fm.usda_farm_id
  FROM farmreg.users AS u
  JOIN farmreg.farmers AS f ON f.user_id = u.id
  JOIN farmreg.farms AS fm ON fm.id = f.farm_id
 ORDER BY u.id;

-- callable with positional, named and default arguments
SELECT ok FROM farmreg.register_farm_admin(
    username => 'erin', password => 'pw-SECRET-erin-1', name => 'Erin',
    email => 'erin@example.com', usda_uid => 'USDA-6', locale => 'es');

-- once per row of a query, each its own registration
SELECT g, (farmreg.register_farm_admin('bulk' || g, 'pw-SECRET-bulk-1', 'Bulk ' || g,
           'bulk' || g || '@example.com', 'USDA-' || (10 + g))).ok
  FROM generate_series(1, 3) AS g;

DROP EXTENSION farmreg;
