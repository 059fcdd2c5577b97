/* sql/farmreg--1.1--1.2.sql -- farmreg 1.2 (work in progress, see CHANGELOG.md) */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION farmreg UPDATE TO '1.2'" to load this file. \quit

-- A fresh CREATE EXTENSION farmreg runs farmreg--1.0.sql, farmreg--1.0--1.1.sql
-- and then this script, so an upgraded database and a new one are the same by
-- construction.

--
-- Uniqueness ignores ASCII case only, whatever the database's collation.
-- Usernames and emails are ASCII by their field rules; lower() under the
-- database's collation folds more than ASCII (a tr-TR database folds 'I' to
-- a dotless 'ı'), so 'kim' and 'KIM' were two users there.  lower() under
-- the "C" collation folds A-Z alone.  The C code looks users up through
-- these indexes by name and folds the same way (src/registration.c).
--
-- Refuse, naming the rows, when existing users would collide under the new
-- rule: the operator decides which of them stays.
DO $$
DECLARE
    collisions text;
BEGIN
    SELECT pg_catalog.string_agg(d.what, '; ' ORDER BY d.what) INTO collisions
      FROM (SELECT 'username ' || pg_catalog.quote_literal(k) || ': users '
                   || pg_catalog.string_agg(u.id::text || ' ' || pg_catalog.quote_literal(u.username),
                                            ', ' ORDER BY u.id) AS what
              FROM farmreg.users AS u,
                   LATERAL (SELECT pg_catalog.lower(u.username COLLATE pg_catalog."C") AS k) AS f
             GROUP BY k HAVING pg_catalog.count(*) > 1
            UNION ALL
            SELECT 'email ' || pg_catalog.quote_literal(k) || ': users '
                   || pg_catalog.string_agg(u.id::text || ' ' || pg_catalog.quote_literal(u.email),
                                            ', ' ORDER BY u.id)
              FROM farmreg.users AS u,
                   LATERAL (SELECT pg_catalog.lower(u.email COLLATE pg_catalog."C") AS k) AS f
             GROUP BY k HAVING pg_catalog.count(*) > 1) AS d;
    IF collisions IS NOT NULL THEN
        RAISE EXCEPTION 'existing users would collide under farmreg 1.2''s ASCII case folding'
            USING ERRCODE = 'unique_violation',
                  DETAIL = 'The database collation told these users apart, ASCII case folding does not: ' || collisions || '.',
                  HINT = 'Rename or deregister all but one user of each group, then run ALTER EXTENSION farmreg UPDATE again.';
    END IF;
END
$$;

DROP INDEX farmreg.users_username_lower_key;
DROP INDEX farmreg.users_email_lower_key;
CREATE UNIQUE INDEX users_username_lower_key
    ON farmreg.users (pg_catalog.lower(username COLLATE pg_catalog."C"));
CREATE UNIQUE INDEX users_email_lower_key
    ON farmreg.users (pg_catalog.lower(email COLLATE pg_catalog."C"));

--
-- poll_events serializes on a lock only farmreg's own code can take (an
-- advisory lock on a well-known key could be held by any role that can
-- connect, stalling every consumer).
--
CREATE FUNCTION farmreg.poll_lock() RETURNS void
AS 'MODULE_PATHNAME', 'farmreg_poll_lock'
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION farmreg.poll_lock() IS
    'internal: the lock poll_events() takes to hand out delivery positions one poller at a time';

CREATE OR REPLACE FUNCTION farmreg.poll_events(consumer text, max_events integer DEFAULT 100)
RETURNS SETOF farmreg.events
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF max_events < 1 THEN
        RAISE EXCEPTION 'max_events must be at least 1'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- positions are handed out as "greater than the greatest so far", which
    -- needs each poller to see the one before it commit
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'poll_events() must run in a READ COMMITTED transaction'
            USING ERRCODE = 'invalid_transaction_state';
    END IF;

    INSERT INTO farmreg.event_consumers AS c (consumer)
    VALUES (poll_events.consumer)
    ON CONFLICT ON CONSTRAINT event_consumers_pkey DO NOTHING;

    -- Position the committed events that have none yet, in id order (so the
    -- events of one transaction, and of one user, keep their order).  The
    -- caller's own uncommitted events wait for its commit.  One poller at a
    -- time does this; the registrations appending events never wait for it.
    PERFORM farmreg.poll_lock();
    WITH ready AS (
        SELECT e.id, pg_catalog.row_number() OVER (ORDER BY e.id) AS n
          FROM farmreg.events AS e
         WHERE e.pos IS NULL
           AND e.txid IS DISTINCT FROM pg_catalog.pg_current_xact_id_if_assigned()
    ), last AS (
        SELECT coalesce(pg_catalog.max(e.pos), 0) AS pos FROM farmreg.events AS e
    )
    UPDATE farmreg.events AS e
       SET pos = last.pos + ready.n
      FROM ready, last
     WHERE e.id = ready.id;

    RETURN QUERY
        WITH batch AS (
            SELECT e.*
              FROM farmreg.events AS e, farmreg.event_consumers AS c
             WHERE c.consumer = poll_events.consumer
               AND e.pos > c.acked_pos
             ORDER BY e.pos
             LIMIT max_events
        ), given AS (
            UPDATE farmreg.event_consumers AS c
               SET polled_pos = greatest(c.polled_pos, (SELECT max(b.pos) FROM batch AS b))
             WHERE c.consumer = poll_events.consumer
               AND EXISTS (SELECT FROM batch)
        )
        SELECT * FROM batch ORDER BY pos;
END
$$;

REVOKE ALL ON FUNCTION farmreg.poll_lock() FROM PUBLIC;

--
-- New codes: a batch field that is not a JSON string, and the hashing
-- budget's answer when it has no place in time.
--
INSERT INTO farmreg.shipped_messages (code, locale, message) VALUES
    ('not_a_string',    'en', 'This value must be text (a JSON string) or null.'),
    ('try_again_later', 'en', 'We are very busy right now. Please try again in a moment.'),
    ('not_a_string',    'es', 'Este valor debe ser texto (una cadena JSON) o null.'),
    ('try_again_later', 'es', 'Tenemos mucho trabajo en este momento. Inténtalo de nuevo en un momento.');
INSERT INTO farmreg.messages (code, locale, message)
    SELECT s.code, s.locale, s.message FROM farmreg.shipped_messages AS s
     WHERE s.code IN ('not_a_string', 'try_again_later');

-- ---------------------------------------------------------------------------
-- name_invalid (issue 14: no spoofing text in names): a name with a control
-- character, a bidirectional override or isolate, or nothing visible in it.
-- ---------------------------------------------------------------------------
INSERT INTO farmreg.shipped_messages (code, locale, message) VALUES
    ('name_invalid', 'en', 'Your name can only use visible characters: no control characters and no text-direction overrides.'),
    ('name_invalid', 'es', 'Tu nombre solo puede usar caracteres visibles: sin caracteres de control ni cambios de dirección del texto.');
INSERT INTO farmreg.messages (code, locale, message)
    SELECT code, locale, message FROM farmreg.shipped_messages WHERE code = 'name_invalid';
-- ---------------------------------------------------------------------------
-- end of name_invalid
-- ---------------------------------------------------------------------------

--
-- Imported password hashes: a batch element may bring a legacy system's hash
-- instead of a password (argon2id, argon2i, bcrypt, sha512-crypt, Django's
-- pbkdf2_sha256).  The C code checks the whole format and its cost bounds
-- (src/pwformat.c); the table keeps refusing anything that is not a hash of
-- one of these formats.  verify_password re-hashes them to argon2id at the
-- next successful login.
--
ALTER TABLE farmreg.users DROP CONSTRAINT users_password_hash_check;
ALTER TABLE farmreg.users ADD CONSTRAINT users_password_hash_check CHECK (
    pg_catalog.starts_with(password_hash, '$argon2id$')
    OR pg_catalog.starts_with(password_hash, '$argon2i$')
    OR pg_catalog.starts_with(password_hash, '$2a$')
    OR pg_catalog.starts_with(password_hash, '$2b$')
    OR pg_catalog.starts_with(password_hash, '$2y$')
    OR pg_catalog.starts_with(password_hash, '$6$')
    OR pg_catalog.starts_with(password_hash, 'pbkdf2_sha256$'));

INSERT INTO farmreg.shipped_messages (code, locale, message) VALUES
    ('password_hash_invalid', 'en',
     'This password hash cannot be imported. Give a password or a password_hash, not both; '
     'a hash must be a well-formed argon2id or argon2i, bcrypt ($2a$, $2b$, $2y$, cost 4 to 31), '
     'sha512-crypt ($6$, 1,000 to 1,000,000 rounds) or Django pbkdf2_sha256 (1 to 5,000,000 '
     'iterations) hash.'),
    ('password_hash_invalid', 'es',
     'Este hash de contraseña no se puede importar. Indica una contraseña o un password_hash, '
     'no ambos; el hash debe ser un argon2id o argon2i, bcrypt ($2a$, $2b$, $2y$, coste de 4 a 31), '
     'sha512-crypt ($6$, de 1.000 a 1.000.000 rondas) o pbkdf2_sha256 de Django (de 1 a 5.000.000 '
     'iteraciones) bien formado.');
INSERT INTO farmreg.messages (code, locale, message)
    SELECT s.code, s.locale, s.message FROM farmreg.shipped_messages AS s
     WHERE s.code = 'password_hash_invalid';

-- What a stored hash is, and whether the next login upgrades it; and how
-- many users are on each format (for operators: how far a migration's
-- upgrade at login has come).
CREATE FUNCTION farmreg.password_hash_info(hash text, OUT format text,
                                           OUT rehash_at_next_login boolean)
AS 'MODULE_PATHNAME', 'farmreg_password_hash_info'
LANGUAGE C STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION farmreg.password_hash_info(text) IS
    'the format of a stored password hash, and whether the next successful login re-hashes it to argon2id at the current costs';

CREATE VIEW farmreg.password_hash_formats AS
SELECT i.format, i.rehash_at_next_login, pg_catalog.count(*) AS users
  FROM farmreg.users AS u,
       LATERAL farmreg.password_hash_info(u.password_hash) AS i
 GROUP BY i.format, i.rehash_at_next_login;

COMMENT ON VIEW farmreg.password_hash_formats IS
    'users by password hash format: rehash_at_next_login counts those not yet argon2id at the current costs';

-- for operators: GRANT SELECT ON the view and EXECUTE ON the function (a
-- view calls functions with its user's privileges)
REVOKE ALL ON farmreg.password_hash_formats FROM PUBLIC;
REVOKE ALL ON FUNCTION farmreg.password_hash_info(text) FROM PUBLIC;
