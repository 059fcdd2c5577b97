-- test/schema.sql -- pgTAP: the tables, indexes, constraint names, result type,
-- message catalog and extension properties that the README documents.
--
-- Run with: pg_prove -d farmreg_tap test/*.sql
-- (in a database where CREATE EXTENSION pgtap; CREATE EXTENSION farmreg; ran
-- as a superuser).  Everything happens in one transaction that is rolled back.

\unset ECHO
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true

BEGIN;
SET LOCAL client_min_messages = warning;

SELECT plan(104);

--
-- The extension itself (control file: relocatable = false, schema = farmreg).
--
SELECT has_schema('farmreg', 'schema farmreg exists');
SELECT ok(EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'farmreg'),
          'extension farmreg is installed');
SELECT is((SELECT extnamespace::regnamespace::text FROM pg_catalog.pg_extension
            WHERE extname = 'farmreg'),
          'farmreg', 'extension farmreg lives in schema farmreg');
SELECT is((SELECT extrelocatable FROM pg_catalog.pg_extension WHERE extname = 'farmreg'),
          false, 'extension farmreg is not relocatable');
SELECT is((SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'farmreg'),
          (SELECT default_version FROM pg_catalog.pg_available_extensions
            WHERE name = 'farmreg'),
          'installed version of farmreg is the default version');
SELECT is_empty($$
    SELECT c.relname
      FROM pg_catalog.pg_class c
     WHERE c.relnamespace = 'farmreg'::regnamespace
       AND c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f')
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                        WHERE d.classid = 'pg_catalog.pg_class'::regclass
                          AND d.objid = c.oid
                          AND d.refclassid = 'pg_catalog.pg_extension'::regclass
                          AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension
                                             WHERE extname = 'farmreg')
                          AND d.deptype = 'e')
$$, 'every table and sequence in schema farmreg belongs to the extension');

--
-- Tables and their columns (the column names are part of the contract).
--
SELECT has_table('farmreg', 'usda_farms', 'table farmreg.usda_farms exists');
SELECT has_table('farmreg', 'users', 'table farmreg.users exists');
SELECT has_table('farmreg', 'farms', 'table farmreg.farms exists');
SELECT has_table('farmreg', 'farmers', 'table farmreg.farmers exists');
SELECT has_table('farmreg', 'messages', 'table farmreg.messages exists');
SELECT has_table('farmreg', 'idempotency_keys', 'table farmreg.idempotency_keys exists');

SELECT columns_are('farmreg', 'usda_farms',
    ARRAY['id', 'usda_uid', 'name', 'address'],
    'farmreg.usda_farms has exactly the contract''s columns');
SELECT columns_are('farmreg', 'users',
    ARRAY['id', 'username', 'email', 'name', 'password_hash', 'created_at'],
    'farmreg.users has exactly the contract''s columns');
SELECT columns_are('farmreg', 'farms',
    ARRAY['id', 'name', 'usda_farm_id', 'created_at'],
    'farmreg.farms has exactly the contract''s columns');
SELECT columns_are('farmreg', 'farmers',
    ARRAY['id', 'user_id', 'farm_id', 'is_admin'],
    'farmreg.farmers has exactly the contract''s columns');
SELECT columns_are('farmreg', 'messages',
    ARRAY['code', 'locale', 'message'],
    'farmreg.messages has exactly the contract''s columns');

-- 21 tests
SELECT col_type_is('farmreg', t, c, ty, format('farmreg.%s.%s is %s', t, c, ty))
  FROM (VALUES
    ('usda_farms', 'id',            'bigint'),
    ('usda_farms', 'usda_uid',      'text'),
    ('usda_farms', 'name',          'text'),
    ('usda_farms', 'address',       'text'),
    ('users',      'id',            'bigint'),
    ('users',      'username',      'text'),
    ('users',      'email',         'text'),
    ('users',      'name',          'text'),
    ('users',      'password_hash', 'text'),
    ('users',      'created_at',    'timestamp with time zone'),
    ('farms',      'id',            'bigint'),
    ('farms',      'name',          'text'),
    ('farms',      'usda_farm_id',  'bigint'),
    ('farms',      'created_at',    'timestamp with time zone'),
    ('farmers',    'id',            'bigint'),
    ('farmers',    'user_id',       'bigint'),
    ('farmers',    'farm_id',       'bigint'),
    ('farmers',    'is_admin',      'boolean'),
    ('messages',   'code',          'text'),
    ('messages',   'locale',        'text'),
    ('messages',   'message',       'text')
  ) AS v(t, c, ty)
 ORDER BY t, c;

SELECT col_not_null('farmreg', 'usda_farms', 'usda_uid', 'farmreg.usda_farms.usda_uid is NOT NULL');
SELECT col_not_null('farmreg', 'usda_farms', 'name', 'farmreg.usda_farms.name is NOT NULL');

--
-- Keys.
--
SELECT col_is_pk('farmreg', 'usda_farms', ARRAY['id'], 'farmreg.usda_farms has primary key (id)');
SELECT col_is_pk('farmreg', 'users', ARRAY['id'], 'farmreg.users has primary key (id)');
SELECT col_is_pk('farmreg', 'farms', ARRAY['id'], 'farmreg.farms has primary key (id)');
SELECT col_is_pk('farmreg', 'farmers', ARRAY['id'], 'farmreg.farmers has primary key (id)');
SELECT col_is_pk('farmreg', 'messages', ARRAY['code', 'locale'],
                 'farmreg.messages has primary key (code, locale)');
SELECT has_pk('farmreg', 'idempotency_keys', 'farmreg.idempotency_keys has a primary key');

SELECT fk_ok('farmreg', 'farms', ARRAY['usda_farm_id'], 'farmreg', 'usda_farms', ARRAY['id'],
             'farmreg.farms.usda_farm_id references farmreg.usda_farms(id)');
SELECT fk_ok('farmreg', 'farmers', ARRAY['user_id'], 'farmreg', 'users', ARRAY['id'],
             'farmreg.farmers.user_id references farmreg.users(id)');
SELECT fk_ok('farmreg', 'farmers', ARRAY['farm_id'], 'farmreg', 'farms', ARRAY['id'],
             'farmreg.farmers.farm_id references farmreg.farms(id)');

SELECT col_is_unique('farmreg', 'usda_farms', ARRAY['usda_uid'],
                     'farmreg.usda_farms.usda_uid is unique');
SELECT col_is_unique('farmreg', 'farms', ARRAY['usda_farm_id'],
                     'farmreg.farms.usda_farm_id is unique');
SELECT col_is_unique('farmreg', 'farmers', ARRAY['user_id', 'farm_id'],
                     'farmreg.farmers (user_id, farm_id) is unique');

-- The names the C code maps unique violations to codes by.  5 tests.
SELECT ok(EXISTS (
           SELECT 1
             FROM pg_catalog.pg_constraint k
            WHERE k.conrelid = format('farmreg.%I', v.tbl)::regclass
              AND k.conname = v.con
              AND k.contype = v.kind
              AND ARRAY(SELECT a.attname::text
                          FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, n)
                          JOIN pg_catalog.pg_attribute a
                            ON a.attrelid = k.conrelid AND a.attnum = u.attnum
                         ORDER BY u.n) = v.cols),
          format('constraint %s is %s (%s) on farmreg.%s',
                 v.con, CASE v.kind WHEN 'p' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END,
                 array_to_string(v.cols, ', '), v.tbl))
  FROM (VALUES
    (1, 'farms',            'farms_usda_farm_id_key',      'u', ARRAY['usda_farm_id']),
    (2, 'usda_farms',       'usda_farms_usda_uid_key',     'u', ARRAY['usda_uid']),
    (3, 'farmers',          'farmers_user_id_farm_id_key', 'u', ARRAY['user_id', 'farm_id']),
    (4, 'idempotency_keys', 'idempotency_keys_pkey',       'p', ARRAY['key']),
    (5, 'messages',         'messages_pkey',               'p', ARRAY['code', 'locale'])
  ) AS v(n, tbl, con, kind, cols)
 ORDER BY v.n;

-- Usernames and emails are unique ignoring case, through expression indexes
-- whose names the C code knows.
SELECT has_index('farmreg', 'users', 'users_username_lower_key', ARRAY['lower((username COLLATE "C"))'],
                 'index users_username_lower_key is on lower(username COLLATE "C"): ASCII case only');
SELECT index_is_unique('farmreg', 'users', 'users_username_lower_key',
                       'index users_username_lower_key is unique');
SELECT has_index('farmreg', 'users', 'users_email_lower_key', ARRAY['lower((email COLLATE "C"))'],
                 'index users_email_lower_key is on lower(email COLLATE "C"): ASCII case only');
SELECT index_is_unique('farmreg', 'users', 'users_email_lower_key',
                       'index users_email_lower_key is unique');
SELECT is_empty($$
    SELECT i.indexrelid::regclass::text
      FROM pg_catalog.pg_index i
     WHERE i.indexrelid IN ('farmreg.users_username_lower_key'::regclass,
                            'farmreg.users_email_lower_key'::regclass)
       AND (i.indpred IS NOT NULL OR NOT i.indisvalid OR i.indnkeyatts <> 1)
$$, 'the lower() indexes are valid, not partial, and have one key');

--
-- The result type, attributes in the contract's order (later versions may
-- only add attributes at the end, so the first eight must stay as they are).
--
SELECT has_composite('farmreg', 'registration_result',
                     'composite type farmreg.registration_result exists');
SELECT results_eq($$
    SELECT a.attname::text COLLATE "default", pg_catalog.format_type(a.atttypid, a.atttypmod)
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = (SELECT typrelid FROM pg_catalog.pg_type
                          WHERE oid = 'farmreg.registration_result'::regtype)
       AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum
     LIMIT 8
$$, $$
    VALUES ('ok', 'boolean'), ('user_id', 'bigint'), ('farm_id', 'bigint'),
           ('farmer_id', 'bigint'), ('error_code', 'text'), ('failed_step', 'text'),
           ('message', 'text'), ('errors', 'jsonb')
$$, 'farmreg.registration_result has the contract''s attributes in order');

--
-- The message catalog ships en and es copy for every code.  17 tests.
--
SELECT is(ARRAY(SELECT m.locale FROM farmreg.messages m
                 WHERE m.code = v.code AND m.locale IN ('en', 'es')
                   AND pg_catalog.btrim(m.message) <> ''
                 ORDER BY m.locale),
          ARRAY['en', 'es'],
          format('farmreg.messages has en and es copy for %s', v.code))
  FROM unnest(ARRAY[
    'username_blank', 'username_invalid', 'username_taken',
    'password_too_short', 'password_too_long',
    'name_blank', 'name_too_long', 'name_invalid',
    'email_blank', 'email_invalid', 'email_already_claimed',
    'usda_uid_blank', 'invalid_usda_uid', 'farm_already_claimed',
    'idempotency_key_invalid', 'idempotency_key_reused',
    'internal_error']) WITH ORDINALITY AS v(code, n)
 ORDER BY v.n;

--
-- pg_dump keeps operator data: the tables and the sequences behind their ids
-- are registered with pg_extension_config_dump.  10 tests.
--
SELECT ok(v.rel::regclass = ANY (e.extconfig),
          format('%s is registered with pg_extension_config_dump', v.rel))
  FROM (VALUES
    (1, 'farmreg.usda_farms'),
    (2, 'farmreg.users'),
    (3, 'farmreg.farms'),
    (4, 'farmreg.farmers'),
    (5, 'farmreg.messages'),
    (6, 'farmreg.idempotency_keys'),
    (7, pg_catalog.pg_get_serial_sequence('farmreg.usda_farms', 'id')),
    (8, pg_catalog.pg_get_serial_sequence('farmreg.users', 'id')),
    (9, pg_catalog.pg_get_serial_sequence('farmreg.farms', 'id')),
    (10, pg_catalog.pg_get_serial_sequence('farmreg.farmers', 'id'))
  ) AS v(n, rel)
 CROSS JOIN pg_catalog.pg_extension e
 WHERE e.extname = 'farmreg'
 ORDER BY v.n;
SELECT is_empty($$
    SELECT s.oid::regclass::text
      FROM pg_catalog.pg_class s
      JOIN pg_catalog.pg_depend d
        ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = s.oid
       AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')
      JOIN pg_catalog.pg_extension e ON e.extname = 'farmreg'
     WHERE s.relkind = 'S'
       AND s.relnamespace = 'farmreg'::regnamespace
       AND d.refobjid = ANY (e.extconfig)
       AND NOT s.oid = ANY (e.extconfig)
$$, 'every sequence owned by a dumped table is dumped too');

--
-- Passwords: the only column that may hold anything derived from one is
-- users.password_hash, and it only accepts argon2id strings.
--
SELECT results_eq($$
    SELECT c.relname::text COLLATE "default", a.attname::text COLLATE "default"
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
     WHERE c.relnamespace = 'farmreg'::regnamespace
       AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attname ~* '(pass|pwd|secret|credential)'
     ORDER BY 1, 2
$$, $$ VALUES ('users', 'password_hash') $$,
  'users.password_hash is the only password-like column in schema farmreg');
SELECT col_has_check('farmreg', 'users', 'password_hash',
                     'farmreg.users.password_hash has a CHECK constraint');
SELECT ok(EXISTS (
           SELECT 1 FROM pg_catalog.pg_constraint k
            WHERE k.conrelid = 'farmreg.users'::regclass
              AND k.contype = 'c'
              AND k.conkey = ARRAY[(SELECT attnum FROM pg_catalog.pg_attribute
                                     WHERE attrelid = 'farmreg.users'::regclass
                                       AND attname = 'password_hash')]
              AND strpos(pg_catalog.pg_get_constraintdef(k.oid), '$argon2id$') > 0),
          'the CHECK on users.password_hash requires $argon2id$');
SELECT throws_ok($$
    INSERT INTO farmreg.users (username, email, name, password_hash)
    VALUES ('tap_plain', 'tap_plain@example.com', 'Tap Plain', 'a plaintext password')
$$, '23514', NULL, 'farmreg.users rejects a password_hash that is not an argon2id string');
SELECT lives_ok($$
    INSERT INTO farmreg.users (username, email, name, password_hash)
    VALUES ('tap_hashed', 'tap_hashed@example.com', 'Tap Hashed',
            '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA')
$$, 'farmreg.users accepts an argon2id string');
SELECT is_empty($$
    SELECT a.attname
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = 'farmreg.idempotency_keys'::regclass
       AND a.attnum > 0 AND NOT a.attisdropped
       AND a.atttypid IN ('json'::regtype, 'jsonb'::regtype)
$$, 'farmreg.idempotency_keys has no free-form (json) column a request could be stored in');

-- The lower() indexes really are case-insensitive, and a violation names them
-- (the C code maps that name to username_taken / email_already_claimed).
CREATE FUNCTION pg_temp.violated_constraint(stmt text) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
    state text;
    con   text;
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, con = CONSTRAINT_NAME;
    RETURN state || ' ' || coalesce(con, '(no constraint)');
END
$fn$;

SELECT is(pg_temp.violated_constraint($$
    INSERT INTO farmreg.users (username, email, name, password_hash)
    VALUES ('TAP_HASHED', 'other@example.com', 'Tap Upper',
            '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA')
$$), '23505 users_username_lower_key',
  'a username differing only in case violates users_username_lower_key');
SELECT is(pg_temp.violated_constraint($$
    INSERT INTO farmreg.users (username, email, name, password_hash)
    VALUES ('tap_other', 'TAP_Hashed@Example.COM', 'Tap Other',
            '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA')
$$), '23505 users_email_lower_key',
  'an email differing only in case violates users_email_lower_key');
SELECT is(pg_temp.violated_constraint($$
    INSERT INTO farmreg.usda_farms (usda_uid, name) VALUES ('TAP-SCHEMA-1', 'Tap Farm'),
                                                           ('TAP-SCHEMA-1', 'Tap Farm again')
$$), '23505 usda_farms_usda_uid_key',
  'a duplicate usda_uid violates usda_farms_usda_uid_key');
SELECT is(pg_temp.violated_constraint($$
    WITH u AS (INSERT INTO farmreg.usda_farms (usda_uid, name)
               VALUES ('TAP-SCHEMA-2', 'Tap Farm') RETURNING id)
    INSERT INTO farmreg.farms (name, usda_farm_id)
    SELECT 'Tap Farm', u.id FROM u, generate_series(1, 2)
$$), '23505 farms_usda_farm_id_key',
  'claiming a USDA farm twice violates farms_usda_farm_id_key');
SELECT is(pg_temp.violated_constraint($$
    WITH f AS (INSERT INTO farmreg.farms (name) VALUES ('Tap Farm') RETURNING id),
         u AS (SELECT id FROM farmreg.users WHERE username = 'tap_hashed')
    INSERT INTO farmreg.farmers (user_id, farm_id, is_admin)
    SELECT u.id, f.id, true FROM u, f, generate_series(1, 2)
$$), '23505 farmers_user_id_farm_id_key',
  'the same user on the same farm twice violates farmers_user_id_farm_id_key');
SELECT is(pg_temp.violated_constraint($$
    UPDATE farmreg.messages SET locale = 'en'
     WHERE code = 'username_blank' AND locale = 'es'
$$), '23505 messages_pkey',
  'two copies for one code and locale violate messages_pkey');

SELECT * FROM finish();
ROLLBACK;
