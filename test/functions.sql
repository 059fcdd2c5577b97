-- test/functions.sql -- pgTAP: the declared properties of farmreg's functions
-- (language, strictness, SECURITY DEFINER with a pinned search_path,
-- volatility, argument names and defaults, return types), plus the little
-- behaviour that needs no registration: error_message's locale fallback and
-- purge_idempotency_keys.
--
-- Run with: pg_prove -d farmreg_tap test/*.sql
-- Everything happens in one transaction that is rolled back.

\unset ECHO
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true

BEGIN;
SET LOCAL client_min_messages = warning;

SELECT plan(54);

-- The search_path a SECURITY DEFINER function pins: pg_catalog first, and
-- pg_temp listed explicitly (last), so that nobody's temporary objects can
-- shadow a name the function uses.
CREATE FUNCTION pg_temp.search_path_of(fn regprocedure) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT pg_catalog.substr(c, pg_catalog.length('search_path=') + 1)
      FROM pg_catalog.pg_proc p, pg_catalog.unnest(p.proconfig) AS c
     WHERE p.oid = fn AND c LIKE 'search\_path=%'
$$;
CREATE FUNCTION pg_temp.pins_search_path(fn regprocedure) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(pg_temp.search_path_of(fn) ~ '^"?pg_catalog"?\s*(,|$)', false)
$$;
CREATE FUNCTION pg_temp.lists_pg_temp_last(fn regprocedure) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(pg_temp.search_path_of(fn) ~ ',\s*"?pg_temp"?$', false)
$$;

--
-- register_farm_admin(username, password, name, email, usda_uid,
--                     idempotency_key DEFAULT NULL, locale DEFAULT NULL)
--
SELECT has_function('farmreg', 'register_farm_admin',
    ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'text'],
    'farmreg.register_farm_admin(text x 7) exists');
SELECT function_lang_is('farmreg', 'register_farm_admin',
    ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'text'], 'c',
    'register_farm_admin is LANGUAGE c');
SELECT isnt_strict('farmreg', 'register_farm_admin',
    ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'text'],
    'register_farm_admin is not STRICT (a NULL argument is a blank field)');
SELECT is_definer('farmreg', 'register_farm_admin',
    ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'text'],
    'register_farm_admin is SECURITY DEFINER');
SELECT volatility_is('farmreg', 'register_farm_admin',
    ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'text'], 'volatile',
    'register_farm_admin is VOLATILE');
SELECT ok(pg_temp.pins_search_path(
              'farmreg.register_farm_admin(text,text,text,text,text,text,text)'),
          'register_farm_admin pins a search_path starting with pg_catalog');
SELECT ok(pg_temp.lists_pg_temp_last(
              'farmreg.register_farm_admin(text,text,text,text,text,text,text)'),
          'register_farm_admin lists pg_temp last in its search_path');
SELECT is((SELECT row(prorettype::regtype, proretset)::text FROM pg_catalog.pg_proc
            WHERE oid = 'farmreg.register_farm_admin(text,text,text,text,text,text,text)'::regprocedure),
          row('farmreg.registration_result'::regtype, false)::text,
          'register_farm_admin returns one farmreg.registration_result');
SELECT is((SELECT proargnames FROM pg_catalog.pg_proc
            WHERE oid = 'farmreg.register_farm_admin(text,text,text,text,text,text,text)'::regprocedure),
          ARRAY['username', 'password', 'name', 'email', 'usda_uid', 'idempotency_key', 'locale'],
          'register_farm_admin has the contract''s argument names');
SELECT is((SELECT pronargdefaults::integer FROM pg_catalog.pg_proc
            WHERE oid = 'farmreg.register_farm_admin(text,text,text,text,text,text,text)'::regprocedure),
          2, 'register_farm_admin has two defaults');
SELECT is(pg_catalog.pg_get_function_arguments(
              'farmreg.register_farm_admin(text,text,text,text,text,text,text)'::regprocedure),
          'username text, password text, name text, email text, usda_uid text, '
          'idempotency_key text DEFAULT NULL::text, locale text DEFAULT NULL::text',
          'idempotency_key and locale default to NULL');

--
-- verify_password(login, password) RETURNS bigint
--
SELECT has_function('farmreg', 'verify_password', ARRAY['text', 'text'],
    'farmreg.verify_password(text, text) exists');
SELECT function_lang_is('farmreg', 'verify_password', ARRAY['text', 'text'], 'c',
    'verify_password is LANGUAGE c');
SELECT is_definer('farmreg', 'verify_password', ARRAY['text', 'text'],
    'verify_password is SECURITY DEFINER');
SELECT ok(pg_temp.pins_search_path('farmreg.verify_password(text,text)'),
          'verify_password pins a search_path starting with pg_catalog');
SELECT ok(pg_temp.lists_pg_temp_last('farmreg.verify_password(text,text)'),
          'verify_password lists pg_temp last in its search_path');
SELECT is((SELECT row(prorettype::regtype, proretset)::text FROM pg_catalog.pg_proc
            WHERE oid = 'farmreg.verify_password(text,text)'::regprocedure),
          row('bigint'::regtype, false)::text,
          'verify_password returns one bigint');
SELECT is((SELECT proargnames FROM pg_catalog.pg_proc
            WHERE oid = 'farmreg.verify_password(text,text)'::regprocedure),
          ARRAY['login', 'password'],
          'verify_password has the contract''s argument names');
SELECT is((SELECT pronargdefaults::integer FROM pg_catalog.pg_proc
            WHERE oid = 'farmreg.verify_password(text,text)'::regprocedure),
          0, 'verify_password has no defaults');

--
-- error_message(code, locale DEFAULT NULL) RETURNS text
--
SELECT has_function('farmreg', 'error_message', ARRAY['text', 'text'],
    'farmreg.error_message(text, text) exists');
SELECT function_lang_is('farmreg', 'error_message', ARRAY['text', 'text'], 'c',
    'error_message is LANGUAGE c');
SELECT is_definer('farmreg', 'error_message', ARRAY['text', 'text'],
    'error_message is SECURITY DEFINER');
SELECT isnt_strict('farmreg', 'error_message', ARRAY['text', 'text'],
    'error_message is not STRICT (a NULL locale means the farmreg.locale setting)');
SELECT ok(pg_temp.pins_search_path('farmreg.error_message(text,text)'),
          'error_message pins a search_path starting with pg_catalog');
SELECT ok(pg_temp.lists_pg_temp_last('farmreg.error_message(text,text)'),
          'error_message lists pg_temp last in its search_path');
SELECT is((SELECT row(prorettype::regtype, proretset)::text FROM pg_catalog.pg_proc
            WHERE oid = 'farmreg.error_message(text,text)'::regprocedure),
          row('text'::regtype, false)::text,
          'error_message returns one text');
SELECT is((SELECT proargnames FROM pg_catalog.pg_proc
            WHERE oid = 'farmreg.error_message(text,text)'::regprocedure),
          ARRAY['code', 'locale'],
          'error_message has the contract''s argument names');
SELECT is((SELECT pronargdefaults::integer FROM pg_catalog.pg_proc
            WHERE oid = 'farmreg.error_message(text,text)'::regprocedure),
          1, 'error_message has one default');
SELECT is(pg_catalog.pg_get_function_arguments('farmreg.error_message(text,text)'::regprocedure),
          'code text, locale text DEFAULT NULL::text',
          'error_message''s locale defaults to NULL');

-- behaviour: copy from the catalog, with the locale fallback of the contract
SELECT ok(farmreg.error_message('tap_no_such_code') IS NULL
          AND farmreg.error_message('tap_no_such_code', 'es') IS NULL,
          'error_message is NULL for an unknown code');
SELECT ok(farmreg.error_message(NULL) IS NULL, 'error_message is NULL for a NULL code');
SELECT is_empty($$
    SELECT m.code FROM farmreg.messages m
     WHERE m.locale = 'en'
       AND farmreg.error_message(m.code, 'en') IS DISTINCT FROM m.message
$$, 'error_message(code, ''en'') is the en copy of farmreg.messages for every code');
SELECT is_empty($$
    SELECT m.code FROM farmreg.messages m
     WHERE m.locale = 'es'
       AND farmreg.error_message(m.code, 'es') IS DISTINCT FROM m.message
$$, 'error_message(code, ''es'') is the es copy of farmreg.messages for every code');
SELECT is(farmreg.error_message('username_taken', 'es-MX'),
          (SELECT message FROM farmreg.messages WHERE code = 'username_taken' AND locale = 'es'),
          'locale es-MX falls back to es');
SELECT is(farmreg.error_message('username_taken', 'es_MX'),
          (SELECT message FROM farmreg.messages WHERE code = 'username_taken' AND locale = 'es'),
          'locale es_MX falls back to es');
SELECT is(farmreg.error_message('username_taken', 'tlh'),
          (SELECT message FROM farmreg.messages WHERE code = 'username_taken' AND locale = 'en'),
          'an unknown locale falls back to en');
SET LOCAL farmreg.locale = 'es';
SELECT is(farmreg.error_message('email_invalid'),
          (SELECT message FROM farmreg.messages WHERE code = 'email_invalid' AND locale = 'es'),
          'a NULL locale takes the farmreg.locale setting (es)');
SET LOCAL farmreg.locale = 'en';
SELECT is(farmreg.error_message('email_invalid'),
          (SELECT message FROM farmreg.messages WHERE code = 'email_invalid' AND locale = 'en'),
          'a NULL locale takes the farmreg.locale setting (en)');
UPDATE farmreg.messages SET message = 'tap: edited copy for ' || code
 WHERE code = 'internal_error' AND locale = 'en';
SELECT is(farmreg.error_message('internal_error', 'en'),
          (SELECT message FROM farmreg.messages WHERE code = 'internal_error' AND locale = 'en'),
          'error_message shows an edit of farmreg.messages');

--
-- purge_idempotency_keys(older_than DEFAULT '24 hours') RETURNS bigint
--
SELECT has_function('farmreg', 'purge_idempotency_keys', ARRAY['interval'],
    'farmreg.purge_idempotency_keys(interval) exists');
SELECT is_definer('farmreg', 'purge_idempotency_keys', ARRAY['interval'],
    'purge_idempotency_keys is SECURITY DEFINER');
SELECT volatility_is('farmreg', 'purge_idempotency_keys', ARRAY['interval'], 'volatile',
    'purge_idempotency_keys is VOLATILE');
SELECT ok(pg_temp.pins_search_path('farmreg.purge_idempotency_keys(interval)'),
          'purge_idempotency_keys pins a search_path starting with pg_catalog');
SELECT ok(pg_temp.lists_pg_temp_last('farmreg.purge_idempotency_keys(interval)'),
          'purge_idempotency_keys lists pg_temp last in its search_path');
SELECT is((SELECT row(prorettype::regtype, proretset)::text FROM pg_catalog.pg_proc
            WHERE oid = 'farmreg.purge_idempotency_keys(interval)'::regprocedure),
          row('bigint'::regtype, false)::text,
          'purge_idempotency_keys returns one bigint');
SELECT is((SELECT proargnames FROM pg_catalog.pg_proc
            WHERE oid = 'farmreg.purge_idempotency_keys(interval)'::regprocedure),
          ARRAY['older_than'],
          'purge_idempotency_keys has the contract''s argument name');
SELECT is((SELECT pronargdefaults::integer FROM pg_catalog.pg_proc
            WHERE oid = 'farmreg.purge_idempotency_keys(interval)'::regprocedure),
          1, 'purge_idempotency_keys has one default');
SELECT is((SELECT pg_catalog.pg_get_expr(proargdefaults, 0) FROM pg_catalog.pg_proc
            WHERE oid = 'farmreg.purge_idempotency_keys(interval)'::regprocedure),
          pg_catalog.quote_literal('24 hours'::interval::text) || '::interval',
          'older_than defaults to 24 hours');

-- behaviour: rows older than the age go, newer ones stay (the rows are made
-- by hand here; registration itself is tested elsewhere)
INSERT INTO farmreg.usda_farms (usda_uid, name) VALUES ('TAP-PURGE-1', 'Tap Purge Farm');
INSERT INTO farmreg.users (username, email, name, password_hash)
VALUES ('tap_purge', 'tap_purge@example.com', 'Tap Purge',
        '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA');
INSERT INTO farmreg.farms (name, usda_farm_id)
SELECT name, id FROM farmreg.usda_farms WHERE usda_uid = 'TAP-PURGE-1';
INSERT INTO farmreg.farmers (user_id, farm_id, is_admin)
SELECT u.id, f.id, true
  FROM farmreg.users u, farmreg.farms f JOIN farmreg.usda_farms uf ON uf.id = f.usda_farm_id
 WHERE u.username = 'tap_purge' AND uf.usda_uid = 'TAP-PURGE-1';
CREATE TEMP TABLE tap_purge_ids AS
SELECT fr.user_id, fr.farm_id, fr.id AS farmer_id
  FROM farmreg.farmers fr JOIN farmreg.users u ON u.id = fr.user_id
 WHERE u.username = 'tap_purge';
DELETE FROM farmreg.idempotency_keys;

SELECT lives_ok($$
    INSERT INTO farmreg.idempotency_keys
           (key, request_digest, user_id, farm_id, farmer_id, created_at)
    SELECT v.key, pg_catalog.sha256(pg_catalog.convert_to(v.key, 'UTF8')),
           t.user_id, t.farm_id, t.farmer_id, pg_catalog.now() - v.age
      FROM tap_purge_ids t,
           (VALUES ('tap-key-old', interval '3 days'),
                   ('tap-key-day', interval '30 hours'),
                   ('tap-key-new', interval '1 hour')) AS v(key, age)
$$, 'idempotency keys of different ages can be set up');
SELECT is(farmreg.purge_idempotency_keys('2 days'), 1::bigint,
          'purge_idempotency_keys(''2 days'') removes the one older key');
SELECT is(farmreg.purge_idempotency_keys(), 1::bigint,
          'purge_idempotency_keys() removes keys older than 24 hours');
SELECT results_eq($$ SELECT key FROM farmreg.idempotency_keys ORDER BY key $$,
                  $$ VALUES ('tap-key-new'::text) $$,
                  'the key younger than 24 hours stays');
SELECT is(farmreg.purge_idempotency_keys(), 0::bigint,
          'purge_idempotency_keys() returns 0 when nothing is old enough');

--
-- Every SECURITY DEFINER function of the schema pins its search_path.
--
SELECT is_empty($$
    SELECT p.oid::regprocedure::text
      FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = 'farmreg'::regnamespace
       AND p.prosecdef
       AND NOT (pg_temp.pins_search_path(p.oid) AND pg_temp.lists_pg_temp_last(p.oid))
$$, 'every SECURITY DEFINER function in schema farmreg pins search_path = pg_catalog, ..., pg_temp');

SELECT * FROM finish();
ROLLBACK;
