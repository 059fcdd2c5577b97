-- test/privileges.sql -- pgTAP: PUBLIC can reach nothing in farmreg but
-- error_message(); an app role granted EXECUTE on register_farm_admin and
-- verify_password can register and log in through them (SECURITY DEFINER)
-- and still cannot touch a table.
--
-- Run with: pg_prove -d farmreg_tap test/*.sql  (as a superuser)
-- Everything, the roles included, happens in one transaction that is rolled
-- back.  Test passwords carry the marker pw-SECRET, which the harness looks
-- for in the server log.

\unset ECHO
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true

BEGIN;
SET LOCAL client_min_messages = warning;

SELECT plan(42);

-- "nobody": a role with no grants at all, standing in for PUBLIC.
CREATE ROLE farmreg_tap_nobody NOLOGIN;
-- the app role, granted exactly what the README tells operators to grant
CREATE ROLE farmreg_tap_app NOLOGIN;
GRANT EXECUTE ON FUNCTION
    farmreg.register_farm_admin(text, text, text, text, text, text, text),
    farmreg.verify_password(text, text)
    TO farmreg_tap_app;

--
-- PUBLIC and tables / sequences.
--
SELECT cmp_ok((SELECT count(*)::integer FROM pg_catalog.pg_class
                WHERE relnamespace = 'farmreg'::regnamespace AND relkind IN ('r', 'p', 'S')),
              '>=', 10, 'schema farmreg has its tables and sequences (the checks below are not vacuous)');
SELECT is_empty($$
    SELECT c.relname, a.privilege_type
      FROM pg_catalog.pg_class c,
           pg_catalog.aclexplode(coalesce(c.relacl,
               pg_catalog.acldefault((CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char",
                                     c.relowner))) AS a
     WHERE c.relnamespace = 'farmreg'::regnamespace
       AND c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f')
       AND a.grantee = 0
$$, 'no relation in schema farmreg grants anything to PUBLIC');
SELECT is_empty($$
    SELECT c.relname, at.attname, a.privilege_type
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_attribute at ON at.attrelid = c.oid AND at.attacl IS NOT NULL,
           pg_catalog.aclexplode(at.attacl) AS a
     WHERE c.relnamespace = 'farmreg'::regnamespace
       AND a.grantee = 0
$$, 'no column in schema farmreg grants anything to PUBLIC');
SELECT is_empty($$
    SELECT c.relname
      FROM pg_catalog.pg_class c
     WHERE c.relnamespace = 'farmreg'::regnamespace
       AND CASE WHEN c.relkind IN ('r', 'p', 'v', 'm', 'f')
                THEN pg_catalog.has_table_privilege('farmreg_tap_nobody', c.oid,
                         'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
                     OR pg_catalog.has_any_column_privilege('farmreg_tap_nobody', c.oid,
                         'SELECT, INSERT, UPDATE, REFERENCES')
                ELSE false END
$$, 'a role without grants has no privilege on any table of schema farmreg');
SELECT is_empty($$
    SELECT c.relname
      FROM pg_catalog.pg_class c
     WHERE c.relnamespace = 'farmreg'::regnamespace
       AND CASE WHEN c.relkind = 'S'
                THEN pg_catalog.has_sequence_privilege('farmreg_tap_nobody', c.oid,
                         'USAGE, SELECT, UPDATE')
                ELSE false END
$$, 'a role without grants has no privilege on any sequence of schema farmreg');

--
-- PUBLIC and functions.
--
SELECT ok(NOT EXISTS (
           SELECT 1 FROM pg_catalog.pg_proc p,
                  pg_catalog.aclexplode(coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) a
            WHERE p.oid = v.fn::regprocedure AND a.grantee = 0 AND a.privilege_type = 'EXECUTE'),
          format('EXECUTE on %s is not granted to PUBLIC', v.fn))
  FROM (VALUES
    (1, 'farmreg.register_farm_admin(text,text,text,text,text,text,text)'),
    (2, 'farmreg.verify_password(text,text)'),
    (3, 'farmreg.purge_idempotency_keys(interval)')
  ) AS v(n, fn)
 ORDER BY v.n;
SELECT ok(NOT pg_catalog.has_function_privilege('farmreg_tap_nobody', v.fn, 'EXECUTE'),
          format('a role without grants cannot execute %s', v.fn))
  FROM (VALUES
    (1, 'farmreg.register_farm_admin(text,text,text,text,text,text,text)'),
    (2, 'farmreg.verify_password(text,text)'),
    (3, 'farmreg.purge_idempotency_keys(interval)')
  ) AS v(n, fn)
 ORDER BY v.n;
SELECT ok(EXISTS (
           SELECT 1 FROM pg_catalog.pg_proc p,
                  pg_catalog.aclexplode(coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) a
            WHERE p.oid = 'farmreg.error_message(text,text)'::regprocedure
              AND a.grantee = 0 AND a.privilege_type = 'EXECUTE'),
          'EXECUTE on farmreg.error_message(text,text) is granted to PUBLIC');
SELECT ok(pg_catalog.has_schema_privilege('farmreg_tap_nobody', 'farmreg', 'USAGE')
          AND pg_catalog.has_function_privilege('farmreg_tap_nobody',
                  'farmreg.error_message(text,text)', 'EXECUTE'),
          'a role without grants can execute farmreg.error_message');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text
      FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = 'farmreg'::regnamespace
       AND p.oid <> 'farmreg.error_message(text,text)'::regprocedure
       AND pg_catalog.has_function_privilege('farmreg_tap_nobody', p.oid, 'EXECUTE')
$$, 'error_message is the only function of schema farmreg that PUBLIC can execute');

-- and it really works for such a role (SECURITY DEFINER reads the catalog)
SET LOCAL ROLE farmreg_tap_nobody;
SELECT ok(farmreg.error_message('username_taken', 'en') IS NOT NULL
          AND farmreg.error_message('username_taken', 'es') IS NOT NULL,
          'a role without grants gets copy from farmreg.error_message');
SELECT throws_ok($$ SELECT message FROM farmreg.messages $$, '42501', NULL,
                 'a role without grants cannot read farmreg.messages directly');
SELECT throws_ok($$
    SELECT farmreg.register_farm_admin('tapnobody', 'tap-pw-SECRET-0', 'Tap Nobody',
                                       'tapnobody@example.com', 'TAP-UID-0')
$$, '42501', NULL, 'a role without grants cannot call register_farm_admin');
RESET ROLE;

--
-- The app role: EXECUTE on the two functions, nothing on the tables.
--
SELECT ok(pg_catalog.has_function_privilege('farmreg_tap_app',
              'farmreg.register_farm_admin(text,text,text,text,text,text,text)', 'EXECUTE'),
          'farmreg_tap_app can execute register_farm_admin');
SELECT ok(pg_catalog.has_function_privilege('farmreg_tap_app',
              'farmreg.verify_password(text,text)', 'EXECUTE'),
          'farmreg_tap_app can execute verify_password');
SELECT ok(NOT pg_catalog.has_function_privilege('farmreg_tap_app',
              'farmreg.purge_idempotency_keys(interval)', 'EXECUTE'),
          'farmreg_tap_app cannot execute purge_idempotency_keys');
SELECT table_privs_are('farmreg', t, 'farmreg_tap_app', ARRAY[]::name[],
                       format('farmreg_tap_app has no privilege on farmreg.%s', t))
  FROM unnest(ARRAY['usda_farms', 'users', 'farms', 'farmers', 'messages',
                    'idempotency_keys']) WITH ORDINALITY AS v(t, n)
 ORDER BY v.n;
SELECT is_empty($$
    SELECT c.relname
      FROM pg_catalog.pg_class c
     WHERE c.relnamespace = 'farmreg'::regnamespace
       AND CASE WHEN c.relkind IN ('r', 'p', 'v', 'm', 'f')
                THEN pg_catalog.has_table_privilege('farmreg_tap_app', c.oid,
                         'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
                     OR pg_catalog.has_any_column_privilege('farmreg_tap_app', c.oid,
                         'SELECT, INSERT, UPDATE, REFERENCES')
                WHEN c.relkind = 'S'
                THEN pg_catalog.has_sequence_privilege('farmreg_tap_app', c.oid,
                         'USAGE, SELECT, UPDATE')
                ELSE false END
$$, 'farmreg_tap_app has no privilege on any table or sequence of schema farmreg');

--
-- Registering and logging in as the app role, through SECURITY DEFINER.
-- The USDA record is the operator's (superuser) job; so are the cheap
-- password-hashing costs, which only a superuser may set.
--
INSERT INTO farmreg.usda_farms (usda_uid, name, address)
VALUES ('TAP-UID-1', 'Tap Farm', '1 Test Lane');
SELECT farmreg.error_message('internal_error') IS NOT NULL AS module_loaded \gset
SET LOCAL farmreg.password_opslimit = 1;
SET LOCAL farmreg.password_memlimit = '8kB';

CREATE TEMP TABLE tap_result OF farmreg.registration_result;
GRANT SELECT, INSERT ON tap_result TO farmreg_tap_app;

SET LOCAL ROLE farmreg_tap_app;
SELECT lives_ok($$
    INSERT INTO pg_temp.tap_result
    SELECT * FROM farmreg.register_farm_admin('tapuser', 'tap-pw-SECRET-1', 'Tap User',
                                              'tap@example.com', 'TAP-UID-1')
$$, 'farmreg_tap_app can call register_farm_admin');
SELECT is((SELECT ok FROM pg_temp.tap_result), true,
          'register_farm_admin as farmreg_tap_app succeeds');
SELECT is((SELECT error_code FROM pg_temp.tap_result), NULL,
          'register_farm_admin as farmreg_tap_app reports no error code');
SELECT ok((SELECT user_id IS NOT NULL AND farm_id IS NOT NULL AND farmer_id IS NOT NULL
             FROM pg_temp.tap_result),
          'register_farm_admin as farmreg_tap_app returns the three ids');
SELECT is(farmreg.verify_password('tapuser', 'tap-pw-SECRET-1'),
          (SELECT coalesce(user_id, -1) FROM pg_temp.tap_result),
          'farmreg_tap_app can verify the password by username');
SELECT is(farmreg.verify_password('TAP@Example.com', 'tap-pw-SECRET-1'),
          (SELECT coalesce(user_id, -1) FROM pg_temp.tap_result),
          'farmreg_tap_app can verify the password by email, ignoring case');
SELECT is(farmreg.verify_password('tapuser', 'tap-pw-SECRET-wrong'), NULL,
          'a wrong password verifies as NULL');
SELECT throws_ok($$ SELECT FROM farmreg.users $$, '42501', NULL,
                 'farmreg_tap_app cannot select from farmreg.users directly');
SELECT throws_ok($$
    INSERT INTO farmreg.users (username, email, name, password_hash)
    VALUES ('tapsneak', 'tapsneak@example.com', 'Tap Sneak', '$argon2id$x')
$$, '42501', NULL, 'farmreg_tap_app cannot insert into farmreg.users directly');
SELECT throws_ok($$ UPDATE farmreg.messages SET message = message $$, '42501', NULL,
                 'farmreg_tap_app cannot update farmreg.messages directly');
SELECT throws_ok($$ DELETE FROM farmreg.farms $$, '42501', NULL,
                 'farmreg_tap_app cannot delete from farmreg.farms directly');
SELECT throws_ok($$ SELECT farmreg.purge_idempotency_keys() $$, '42501', NULL,
                 'farmreg_tap_app cannot call purge_idempotency_keys');
RESET ROLE;

-- what the registration wrote, seen by the superuser
SELECT results_eq($$
    SELECT u.username, u.email, u.name, f.name, uf.usda_uid, fr.is_admin
      FROM pg_temp.tap_result r
      JOIN farmreg.users u ON u.id = r.user_id
      JOIN farmreg.farms f ON f.id = r.farm_id
      JOIN farmreg.usda_farms uf ON uf.id = f.usda_farm_id
      JOIN farmreg.farmers fr ON fr.id = r.farmer_id
                             AND fr.user_id = u.id AND fr.farm_id = f.id
$$, $$ VALUES ('tapuser', 'tap@example.com', 'Tap User', 'Tap Farm', 'TAP-UID-1', true) $$,
  'the registration made by farmreg_tap_app wrote the user, the farm and an admin farmer');
SELECT ok((SELECT u.password_hash LIKE '$argon2id$%'
                  AND strpos(u.password_hash, 'pw-SECRET') = 0
             FROM farmreg.users u JOIN pg_temp.tap_result r ON r.user_id = u.id),
          'the stored password is an argon2id hash, not the password');
SELECT is(current_user::text, session_user::text,
          'the role is back to the session user');

SELECT * FROM finish();
ROLLBACK;
