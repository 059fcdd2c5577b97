--
-- collation: uniqueness ignores ASCII case only, whatever the database's
-- collation.  In a tr-TR database lower() folds 'I' to a dotless 'ı', so up
-- to 1.1 'kim' and 'KIM' could be two users; 1.2 folds ASCII letters alone
-- (lower(x COLLATE "C")), and its upgrade refuses, naming them, users that
-- would collide under the new rule.
--
SET client_min_messages = warning;
DROP DATABASE IF EXISTS farmreg_tr;
RESET client_min_messages;
CREATE DATABASE farmreg_tr TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8'
    LOCALE_PROVIDER icu ICU_LOCALE 'tr-TR';
\c farmreg_tr
SET farmreg.password_opslimit = 1;
SET farmreg.password_memlimit = '8kB';
SELECT lower('KIM') = 'kim' AS lower_folds_ascii_here, lower('KIM' COLLATE "C") = 'kim' AS c_folds_ascii;

-- 1.1 with two users that its indexes told apart (inserted as a 1.1 server
-- would have registered them)
CREATE EXTENSION farmreg VERSION '1.1';
INSERT INTO farmreg.usda_farms (usda_uid, name)
SELECT 'USDA-' || g, 'Farm ' || g FROM generate_series(1, 10) AS g;
INSERT INTO farmreg.users (username, email, name, password_hash) VALUES
    ('kim', 'kim@x.example', 'Kim', '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA'),
    ('KIM', 'kim2@x.example', 'Other Kim', '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA'),
    ('ivan', 'ivan@x.example', 'Ivan', '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA'),
    ('ivan2', 'IVAN@X.EXAMPLE', 'Other Ivan', '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA');
SELECT count(*) AS users_at_1_1 FROM farmreg.users;

-- the upgrade refuses, naming both pairs
\set VERBOSITY default
ALTER EXTENSION farmreg UPDATE TO '1.2';
SELECT extversion FROM pg_extension WHERE extname = 'farmreg';
-- the operator keeps one of each pair and tries again
SELECT farmreg.deregister_farm_admin(id, 'duplicate under ASCII case folding')
  FROM farmreg.users WHERE username IN ('KIM', 'ivan2') ORDER BY id;
ALTER EXTENSION farmreg UPDATE TO '1.2';
SELECT extversion FROM pg_extension WHERE extname = 'farmreg';

-- 1.2: ASCII case only, in every path
SELECT ok, user_id FROM farmreg.register_farm_admin('liz', 'pw-SECRET-liz-12', 'Liz', 'liz@x.example', 'USDA-1');
SELECT ok, error_code, jsonb_path_query_array(errors, '$[*].code') AS codes
  FROM farmreg.register_farm_admin('LIZ', 'pw-SECRET-liz-12', 'Liz', 'LIZ@X.EXAMPLE', 'USDA-2');
SELECT ok, error_code
  FROM farmreg.register_farm_admin('kIm', 'pw-SECRET-kim-12', 'Kim', 'new-kim@x.example', 'USDA-3');
SELECT ok, error_code
  FROM farmreg.register_farm_admin('newivan', 'pw-SECRET-ivan-1', 'Ivan', 'Ivan@X.Example', 'USDA-3');
-- inside a batch, as between single calls
SELECT ordinal, ok, error_code
  FROM farmreg.register_farm_admins($$[
    {"username": "zed", "password": "pw-SECRET-zed-12", "name": "Zed", "email": "zed@x.example", "usda_uid": "USDA-4"},
    {"username": "ZED", "password": "pw-SECRET-zed-12", "name": "Zed", "email": "zed2@x.example", "usda_uid": "USDA-5"},
    {"username": "iris", "password": "pw-SECRET-iris-1", "name": "Iris", "email": "IRIS@x.example", "usda_uid": "USDA-6"},
    {"username": "iris2", "password": "pw-SECRET-iris-1", "name": "Iris", "email": "iris@X.EXAMPLE", "usda_uid": "USDA-7"}
  ]$$) ORDER BY ordinal;
-- and logins find the same user whatever the case of the login
SELECT farmreg.verify_password('LIZ', 'pw-SECRET-liz-12') = (SELECT id FROM farmreg.users WHERE username = 'liz') AS upper,
       farmreg.verify_password('lIz', 'pw-SECRET-liz-12') = (SELECT id FROM farmreg.users WHERE username = 'liz') AS mixed,
       farmreg.verify_password('LIZ@x.EXAMPLE', 'pw-SECRET-liz-12') = (SELECT id FROM farmreg.users WHERE username = 'liz') AS email;
-- the operator's own queries can use the same index
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM farmreg.users WHERE lower(username COLLATE "C") = 'liz';
RESET enable_seqscan;

\c contrib_regression
DROP DATABASE farmreg_tr;
