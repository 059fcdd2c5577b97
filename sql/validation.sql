--
-- validation: every field rule, every code, all errors at once, bad input
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS farmreg;
CREATE EXTENSION farmreg;
RESET client_min_messages;
SET farmreg.password_opslimit = 1;
SET farmreg.password_memlimit = '8kB';

INSERT INTO farmreg.usda_farms (usda_uid, name)
SELECT 'USDA-' || g, 'Farm ' || g FROM generate_series(1, 200) AS g;

-- a registration that the cases below vary one field of
CREATE TEMP TABLE good (username text, password text, name text, email text, usda_uid text);
INSERT INTO good VALUES ('taken_user', 'pw-SECRET-good-1', 'Taken User', 'taken@example.com', 'USDA-1');
SELECT ok FROM good, farmreg.register_farm_admin(good.username, good.password, good.name, good.email, good.usda_uid);

-- the codes a result carries, in field order
CREATE FUNCTION codes(r farmreg.registration_result) RETURNS text
LANGUAGE sql AS $$
    SELECT coalesce(string_agg((e->>'field') || ':' || (e->>'code'), ', ' ORDER BY n), '')
      FROM jsonb_array_elements(r.errors) WITH ORDINALITY AS t(e, n)
$$;

-- one case per row: which field, what value, the codes expected
CREATE TEMP TABLE cases (n serial, field text, label text, value text, expect text);
INSERT INTO cases (field, label, value, expect) VALUES
  ('username', 'NULL',                NULL,                        'username:username_blank'),
  ('username', 'empty',               '',                          'username:username_blank'),
  ('username', 'spaces only',         E' \t\n ',                   'username:username_blank'),
  ('username', 'too short',           'ab',                        'username:username_invalid'),
  ('username', 'shortest',            'abc',                       ''),
  ('username', 'longest',             repeat('u', 32),             ''),
  ('username', 'too long',            repeat('u', 33),             'username:username_invalid'),
  ('username', '1 MB',                repeat('u', 1048576),        'username:username_invalid'),
  ('username', 'punctuation allowed', 'a_b.c-d',                   ''),
  ('username', 'inner space',         'ab cd',                     'username:username_invalid'),
  ('username', 'non-ASCII',           'josé',                      'username:username_invalid'),
  ('username', 'emoji',               'farm🐄',                    'username:username_invalid'),
  ('username', 'control character',   E'ab\x01cd',                 'username:username_invalid'),
  ('username', 'SQL injection',       $$x'); DROP TABLE farmreg.users; --$$, 'username:username_invalid'),
  ('username', 'taken, other case',   'TAKEN_USER',                'username:username_taken'),
  ('password', 'NULL',                NULL,                        'password:password_too_short'),
  ('password', 'empty',               '',                          'password:password_too_short'),
  ('password', '7 characters',        'pw-SECR',                   'password:password_too_short'),
  ('password', '8 characters',        'pw-SECRE',                  ''),
  ('password', '8 spaces (not trimmed)', '        ',               ''),
  ('password', '7 characters in 21 bytes', '€€€€€€€',              'password:password_too_short'),
  ('password', 'multibyte, 7 characters', 'ñññññññ',               'password:password_too_short'),
  ('password', 'emoji, 8 characters', '🐄🐄🐄🐄🐄🐄🐄🐄',                 ''),
  ('password', '1024 characters',     'pw-SECRET' || repeat('x', 1015), ''),
  ('password', '1025 characters',     'pw-SECRET' || repeat('x', 1016), 'password:password_too_long'),
  ('password', '1024 multibyte',      repeat('ü', 1024),           ''),
  ('password', '1 MB',                'pw-SECRET' || repeat('x', 1048576), 'password:password_too_long'),
  ('name',     'NULL',                NULL,                        'name:name_blank'),
  ('name',     'empty',               '',                          'name:name_blank'),
  ('name',     'spaces only',         E'\u3000 \u00a0',            'name:name_blank'),
  ('name',     'one character',       'Q',                         ''),
  ('name',     '200 characters',      repeat('n', 200),            ''),
  ('name',     '201 characters',      repeat('n', 201),            'name:name_too_long'),
  ('name',     '200 multibyte',       repeat('ñ', 200),            ''),
  ('name',     '1 MB',                repeat('n', 1048576),        'name:name_too_long'),
  ('name',     'mixed scripts and emoji', 'Zoë Ωμέγα 農場 🌽',      ''),
  ('name',     'SQL injection',       $$Robert'); DROP TABLE farmreg.farms;--$$, ''),
  ('name',     'control character',   E'Ann\x07e',                 'name:name_invalid'),
  ('name',     'inner newline',       E'Ann\ne',                   'name:name_invalid'),
  ('name',     'inner tab',           E'Ann\te',                   'name:name_invalid'),
  ('name',     'DEL',                 E'Ann\x7fe',                 'name:name_invalid'),
  ('name',     'C1 control',          E'Ann\u009be',               'name:name_invalid'),
  ('name',     'line separator inside', E'Ann\u2028e',             'name:name_invalid'),
  ('name',     'right-to-left override', E'Ann \u202Eeiluj',       'name:name_invalid'),
  ('name',     'left-to-right embedding', E'\u202AAnne',           'name:name_invalid'),
  ('name',     'pop directional formatting', E'Anne\u202C',        'name:name_invalid'),
  ('name',     'first strong isolate', E'Ann\u2068e\u2069',        'name:name_invalid'),
  ('name',     'right-to-left isolate', E'\u2067Anne',             'name:name_invalid'),
  ('name',     'only a zero-width space', E'\u200B',               'name:name_invalid'),
  ('name',     'only invisible characters', E'\u200B\u200D\uFEFF\u2060', 'name:name_invalid'),
  ('name',     'invisible characters and spaces', E'\u200B \u00AD', 'name:name_invalid'),
  ('name',     'only Hangul fillers', E'\u3164\u3164',             'name:name_invalid'),
  ('name',     'only tag characters', E'\U000E0041\U000E0042',     'name:name_invalid'),
  ('name',     'only a variation selector', E'\uFE0F',             'name:name_invalid'),
  ('name',     'only a braille blank', E'\u2800',                  'name:name_invalid'),
  ('name',     '201 zero-width spaces (too long first)', repeat(E'\u200B', 201), 'name:name_too_long'),
  ('name',     '200 characters ending in a control', repeat('n', 199) || E'\x01', 'name:name_invalid'),
  ('name',     'emoji with zero-width joiners', E'\U0001F469\u200D\U0001F33E', ''),
  ('name',     'soft hyphen inside', E'Anne\u00ADMarie',           ''),
  ('name',     'right-to-left script', E'\u0645\u0631\u064A\u0645', ''),
  ('name',     'direction mark between scripts', E'Maryam \u200F\u0645\u0631\u064A\u0645', ''),
  ('email',    'NULL',                NULL,                        'email:email_blank'),
  ('email',    'empty',               '',                          'email:email_blank'),
  ('email',    'spaces only',         '   ',                       'email:email_blank'),
  ('email',    'no @',                'farmer.example.com',        'email:email_invalid'),
  ('email',    'two @',               'a@b@example.com',           'email:email_invalid'),
  ('email',    'empty local part',    '@example.com',              'email:email_invalid'),
  ('email',    'undotted domain',     'farmer@localhost',          'email:email_invalid'),
  ('email',    'empty label',         'farmer@example..com',       'email:email_invalid'),
  ('email',    'trailing dot',        'farmer@example.com.',       'email:email_invalid'),
  ('email',    'hyphen at label end', 'farmer@example-.com',       'email:email_invalid'),
  ('email',    'underscore in domain','farmer@exa_mple.com',       'email:email_invalid'),
  ('email',    'numeric top level',   'farmer@10.0.0.1',           'email:email_invalid'),
  ('email',    'inner space',         'far mer@example.com',       'email:email_invalid'),
  ('email',    'double dot local',    'far..mer@example.com',      'email:email_invalid'),
  ('email',    'non-ASCII',           'jösé@example.com',          'email:email_invalid'),
  ('email',    'plus and dots',       'first.last+tag@mail.example.co.uk', ''),
  ('email',    'local part 64',       repeat('l', 64) || '@example.com', ''),
  ('email',    'local part 65',       repeat('l', 65) || '@example.com', 'email:email_invalid'),
  ('email',    '254 characters',      repeat('l', 64) || '@' || repeat('d', 63) || '.' || repeat('d', 63) || '.' || repeat('d', 57) || '.com', ''),
  ('email',    '255 characters',      repeat('l', 64) || '@' || repeat('d', 63) || '.' || repeat('d', 63) || '.' || repeat('d', 58) || '.com', 'email:email_invalid'),
  ('email',    'label of 64',         'farmer@' || repeat('d', 64) || '.com', 'email:email_invalid'),
  ('email',    '1 MB',                repeat('e', 1048576) || '@example.com', 'email:email_invalid'),
  ('email',    'SQL injection',       $$x'--@example.com$$,         ''),
  ('email',    'claimed, other case', 'TAKEN@EXAMPLE.com',         'email:email_already_claimed'),
  ('usda_uid', 'NULL',                NULL,                        'usda_uid:usda_uid_blank'),
  ('usda_uid', 'empty',               '',                          'usda_uid:usda_uid_blank'),
  ('usda_uid', 'spaces only',         E'\t ',                      'usda_uid:usda_uid_blank'),
  ('usda_uid', 'unknown',             'USDA-0',                    'usda_uid:invalid_usda_uid'),
  ('usda_uid', 'other case',          'usda-50',                   'usda_uid:invalid_usda_uid'),
  ('usda_uid', '1 MB',                repeat('U', 1048576),        'usda_uid:invalid_usda_uid'),
  ('usda_uid', 'SQL injection',       $$USDA-1' OR '1'='1$$,       'usda_uid:invalid_usda_uid'),
  ('usda_uid', 'claimed',             'USDA-1',                    'usda_uid:farm_already_claimed'),
  ('idempotency_key', 'empty',        '',                          'idempotency_key:idempotency_key_invalid'),
  ('idempotency_key', 'spaces only',  '   ',                       'idempotency_key:idempotency_key_invalid'),
  ('idempotency_key', 'one character','k',                         ''),
  ('idempotency_key', '255 characters', repeat('k', 255),          ''),
  ('idempotency_key', '256 characters', repeat('k', 256),          'idempotency_key:idempotency_key_invalid'),
  ('idempotency_key', '255 multibyte',  repeat('ķ', 255),          ''),
  ('idempotency_key', 'control character', E'key\x07',             'idempotency_key:idempotency_key_invalid'),
  ('idempotency_key', 'inner newline', E'ke\ny',                   'idempotency_key:idempotency_key_invalid'),
  ('idempotency_key', 'C1 control',    E'key\u0085x',              'idempotency_key:idempotency_key_invalid'),
  ('idempotency_key', '1 MB',          repeat('k', 1048576),       'idempotency_key:idempotency_key_invalid');

-- Run every case inside a subtransaction that is rolled back, so a case that
-- registers does not get in the way of the next one; report the mismatches.
CREATE FUNCTION run_case(c cases) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    g good;
    r farmreg.registration_result;
BEGIN
    SELECT * INTO g FROM good;
    BEGIN
        r := farmreg.register_farm_admin(
            CASE WHEN c.field = 'username' THEN c.value ELSE 'case' || c.n END,
            CASE WHEN c.field = 'password' THEN c.value ELSE g.password END,
            CASE WHEN c.field = 'name' THEN c.value ELSE g.name END,
            CASE WHEN c.field = 'email' THEN c.value ELSE 'case' || c.n || '@example.com' END,
            CASE WHEN c.field = 'usda_uid' THEN c.value ELSE 'USDA-' || (c.n + 1) END,
            CASE WHEN c.field = 'idempotency_key' THEN c.value END);
        RAISE SQLSTATE 'P0001' USING MESSAGE = 'undo';
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
    IF codes(r) = c.expect AND r.ok = (c.expect = '')
       AND (r.ok OR r.failed_step = 'validate')
       AND (r.ok OR r.message = farmreg.error_message(r.error_code)) THEN
        RETURN NULL;
    END IF;
    RETURN format('%s %s: got ok=%s [%s] step=%s', c.field, c.label, r.ok, codes(r), r.failed_step);
END
$$;

SELECT count(*) AS cases FROM cases;
SELECT run_case(c) AS mismatch FROM cases AS c WHERE run_case(c) IS NOT NULL;

-- every field wrong at once: all errors, in field order, first one on top
SELECT ok, error_code, failed_step, message = farmreg.error_message(error_code) AS message_ok,
       codes(r)
  FROM farmreg.register_farm_admin('x', 'short', '', 'not-an-email', 'USDA-0', E'\x01') AS r;

-- database lookups run for every field whose format is valid
SELECT codes(r)
  FROM farmreg.register_farm_admin('taken_user', 'short', repeat('n', 201), 'TAKEN@example.com', 'USDA-1') AS r;

-- every entry of errors carries the catalog copy for its code
SELECT bool_and(e->>'message' = farmreg.error_message(e->>'code')) AS each_message_from_catalog,
       count(*) AS entries
  FROM farmreg.register_farm_admin(NULL, NULL, NULL, NULL, NULL, '') AS r,
       jsonb_array_elements(r.errors) AS e;

-- text is stored exactly as given, after trimming: scripts, emoji, quotes
SELECT ok FROM farmreg.register_farm_admin(
    ' zoe ', 'pw-SECRET-zoe-1', E'\u2003Zoë O''Brien-Ωμέγα 農場 🌽\u2003', ' Zoe@Example.com ', 'USDA-77');
SELECT username, name, email, length(name) AS chars FROM farmreg.users WHERE username = 'zoe';
SELECT name FROM farmreg.farms WHERE usda_farm_id = 77;

-- the injection attempts above are data, and the tables are all still there
SELECT t AS missing_table
  FROM unnest(ARRAY['usda_farms', 'users', 'farms', 'farmers', 'messages', 'idempotency_keys']) AS t
 WHERE to_regclass('farmreg.' || t) IS NULL;

DROP FUNCTION run_case(cases);
DROP FUNCTION codes(farmreg.registration_result);
DROP EXTENSION farmreg;
