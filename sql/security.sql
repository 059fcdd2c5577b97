--
-- security: privileges of an app role, and search_path hijacking attempts
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS farmreg;
CREATE EXTENSION farmreg;
RESET client_min_messages;
SET farmreg.password_opslimit = 1;
SET farmreg.password_memlimit = '8kB';
INSERT INTO farmreg.usda_farms (usda_uid, name)
SELECT 'USDA-' || g, 'Farm ' || g FROM generate_series(1, 10) AS g;

-- an app role gets exactly the two grants the README shows
CREATE ROLE regress_farmreg_app;
GRANT EXECUTE ON FUNCTION farmreg.register_farm_admin(text, text, text, text, text, text, text),
                          farmreg.verify_password(text, text) TO regress_farmreg_app;
CREATE ROLE regress_farmreg_nobody;

SET ROLE regress_farmreg_app;
-- it registers and logs in through the functions ...
SELECT ok, user_id IS NOT NULL AS registered
  FROM farmreg.register_farm_admin('ana', 'pw-SECRET-ana-12', 'Ana', 'ana@example.com', 'USDA-1', 'key-ana', 'es');
SELECT farmreg.verify_password('ana@example.com', 'pw-SECRET-ana-12') IS NOT NULL AS logged_in;
SELECT farmreg.error_message('email_blank', 'es') IS NOT NULL AS copy_readable;
-- ... and touches no table directly
SELECT count(*) FROM farmreg.users;
SELECT count(*) FROM farmreg.usda_farms;
UPDATE farmreg.messages SET message = 'defaced';
INSERT INTO farmreg.farms (name) VALUES ('fake');
DELETE FROM farmreg.idempotency_keys;
SELECT farmreg.purge_idempotency_keys();
RESET ROLE;

-- a role without the grant cannot register at all (those statements, which
-- name password-bearing functions, go to the log redacted; this one, which
-- names none, is the log's control: it is logged with its literal)
SET ROLE regress_farmreg_nobody;
SELECT 'not-a-secret-1' AS control FROM farmreg.users;
SELECT ok FROM farmreg.register_farm_admin('eve', 'not-a-secret-1', 'Eve', 'eve@example.com', 'USDA-2');
SELECT farmreg.verify_password('ana', 'not-a-secret-1');
-- but the catalog's copy is public
SELECT farmreg.error_message('email_blank') IS NOT NULL AS copy_readable;
RESET ROLE;

-- search_path hijacking: a role puts its own lower(), =, and look-alike tables
-- ahead of pg_catalog.  The functions pin their search_path and qualify every
-- name, so none of it is ever called or read.
CREATE SCHEMA regress_evil AUTHORIZATION regress_farmreg_app;
SET ROLE regress_farmreg_app;
CREATE FUNCTION regress_evil.lower(text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'hijacked lower() was called';
END
$$;
CREATE FUNCTION regress_evil.texteq(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'hijacked = was called';
END
$$;
CREATE OPERATOR regress_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_evil.texteq);
CREATE FUNCTION regress_evil.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT 'epoch'::timestamptz $$;
CREATE TABLE regress_evil.users (id bigint, username text, email text, name text, password_hash text);
CREATE TABLE regress_evil.usda_farms (id bigint, usda_uid text, name text);
INSERT INTO regress_evil.usda_farms VALUES (999, 'EVIL-1', 'Evil Farm');
SET search_path = regress_evil, pg_catalog, public;
SELECT 'abc' = 'abd' AS hijack_active_for_plain_queries;
SELECT ok, error_code, user_id IS NOT NULL AS registered
  FROM farmreg.register_farm_admin('Ben', 'pw-SECRET-ben-12', 'Ben', 'ben@example.com', 'USDA-2');
SELECT ok, error_code, failed_step
  FROM farmreg.register_farm_admin('BEN', 'pw-SECRET-ben-12', 'Ben', 'BEN@example.com', 'USDA-3');
SELECT ok, error_code
  FROM farmreg.register_farm_admin('cat', 'pw-SECRET-cat-12', 'Cat', 'cat@example.com', 'EVIL-1');
SELECT farmreg.verify_password('BEN', 'pw-SECRET-ben-12') IS NOT NULL AS logged_in;
SELECT farmreg.error_message('username_taken') IS NOT NULL AS copy_readable;
RESET search_path;
RESET ROLE;
-- the rows are in farmreg's tables, with real timestamps
SELECT username, created_at > now() - interval '1 hour' AS real_clock FROM farmreg.users ORDER BY id;
SELECT count(*) AS evil_users FROM regress_evil.users;

DROP SCHEMA regress_evil CASCADE;
DROP EXTENSION farmreg;
DROP ROLE regress_farmreg_app;
DROP ROLE regress_farmreg_nobody;
