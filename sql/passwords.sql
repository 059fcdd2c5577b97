--
-- passwords: argon2id through libsodium, verify_password, the cost GUCs
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS farmreg;
CREATE EXTENSION farmreg;
RESET client_min_messages;
INSERT INTO farmreg.usda_farms (usda_uid, name)
SELECT 'USDA-' || g, 'Farm ' || g FROM generate_series(1, 10) AS g;

-- the cost settings: OWASP's argon2id defaults, libsodium's minimums accepted
SHOW farmreg.password_opslimit;
SHOW farmreg.password_memlimit;
SET farmreg.password_opslimit = 0;
SET farmreg.password_memlimit = '7kB';
SET farmreg.password_opslimit = 1;
SET farmreg.password_memlimit = '8kB';
SHOW farmreg.password_memlimit;
-- (max_concurrent_hashes defaults to half the machine's cores, at least 1;
-- hash_budget_scope says whether the library was preloaded)
SELECT name,
       CASE WHEN name = 'farmreg.max_concurrent_hashes' AND setting::int >= 1 THEN 'cores/2'
            WHEN name = 'farmreg.hash_budget_scope' AND setting IN ('database', 'cluster') THEN 'database|cluster'
            ELSE setting END AS setting,
       unit, context,
       CASE WHEN name = 'farmreg.max_concurrent_hashes' AND boot_val::int >= 1 THEN 'cores/2'
            WHEN name = 'farmreg.hash_budget_scope' AND boot_val IN ('database', 'cluster') THEN 'database|cluster'
            ELSE boot_val END AS boot_val
  FROM pg_settings WHERE name LIKE 'farmreg.%' ORDER BY name;
-- the prefix is reserved: a misspelt farmreg setting is an error, not a silent placeholder
SET farmreg.pasword_opslimit = 1;

-- stored as libsodium argon2id strings, with the costs in force when hashed
SELECT ok FROM farmreg.register_farm_admin('uma', 'pw-SECRET-uma-12', 'Uma', 'uma@example.com', 'USDA-1');
SET farmreg.password_opslimit = 2;
SET farmreg.password_memlimit = '16kB';
SELECT ok FROM farmreg.register_farm_admin('vic', 'pw-SECRET-vic-12', 'Vic', 'Vic@Example.com', 'USDA-2');
SET farmreg.password_opslimit = 1;
SET farmreg.password_memlimit = '8kB';
SELECT username, substring(password_hash FROM '^\$argon2id\$v=19\$m=\d+,t=\d+,p=1\$') AS params,
       password_hash ~ '^\$argon2id\$v=19\$m=\d+,t=\d+,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$' AS well_formed
  FROM farmreg.users ORDER BY id;
-- two users with one password still get different hashes (random salts)
SELECT ok FROM farmreg.register_farm_admin('wes', 'pw-SECRET-uma-12', 'Wes', 'wes@example.com', 'USDA-3');
SELECT count(DISTINCT password_hash) AS distinct_hashes FROM farmreg.users;

-- verify_password: username or email, any case, surrounding space ignored
SELECT login, farmreg.verify_password(login, pw) AS user_id
  FROM (VALUES ('uma', 'pw-SECRET-uma-12'), ('UMA', 'pw-SECRET-uma-12'), (' uma@EXAMPLE.com ', 'pw-SECRET-uma-12'),
               ('vic', 'pw-SECRET-vic-12'), ('vic@example.com', 'pw-SECRET-vic-12'),
               ('uma', 'pw-SECRET-uma-13'), ('uma', 'PW-SECRET-UMA-12'), ('uma', 'pw-SECRET-uma-12 '),
               ('uma', ''), ('nobody', 'pw-SECRET-uma-12'), ('nobody@example.com', 'x'), ('', ''),
               ($$uma' OR '1'='1$$, 'pw-SECRET-uma-12')) AS t(login, pw);
SELECT farmreg.verify_password(NULL, 'pw-SECRET-uma-12') IS NULL AS null_login,
       farmreg.verify_password('uma', NULL) IS NULL AS null_password;
-- a passwords' hash stays valid when the costs change: the string carries them
SET farmreg.password_opslimit = 3;
SELECT farmreg.verify_password('vic', 'pw-SECRET-vic-12') IS NOT NULL AS still_verifies;
SET farmreg.password_opslimit = 1;

-- passwords are never trimmed: spaces around one are part of it
SELECT ok FROM farmreg.register_farm_admin('xia', '  pw-SECRET-xia  ', 'Xia', 'xia@example.com', 'USDA-4');
SELECT farmreg.verify_password('xia', '  pw-SECRET-xia  ') IS NOT NULL AS with_spaces,
       farmreg.verify_password('xia', 'pw-SECRET-xia') IS NULL AS without_spaces;

-- no table holds a password in any form but an argon2id hash
SELECT count(*) AS rows_with_a_plaintext_password
  FROM (SELECT u::text AS t FROM farmreg.users AS u
        UNION ALL SELECT f::text FROM farmreg.farms AS f
        UNION ALL SELECT fm::text FROM farmreg.farmers AS fm
        UNION ALL SELECT k::text FROM farmreg.idempotency_keys AS k) AS everything
 WHERE t LIKE '%pw-SECRET%';
-- and the schema refuses to store anything else in password_hash
\set VERBOSITY terse
INSERT INTO farmreg.users (username, email, name, password_hash)
VALUES ('plain', 'plain@example.com', 'Plain', 'plaintext-password');
\set VERBOSITY default

-- the cost settings are for superusers only
CREATE ROLE regress_farmreg_plain;
SET ROLE regress_farmreg_plain;
SET farmreg.password_opslimit = 1;
SET farmreg.password_memlimit = '8kB';
SET farmreg.locale = 'es';
RESET ROLE;
DROP ROLE regress_farmreg_plain;

DROP EXTENSION farmreg;
