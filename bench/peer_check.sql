-- bench/peer_check.sql -- does the PL/pgSQL peer answer like farmreg?
--
-- Runs both functions on the same requests (valid ones and every kind of
-- field error) and compares everything but the ids: ok, error_code,
-- failed_step, message, errors.  Each call is rolled back (a raised error
-- ends its block; PL/pgSQL variables survive that), and the whole check runs
-- in a transaction that is rolled back too.  Prints one line:
--   peer_check <cases> <mismatches>
\set ON_ERROR_STOP 1
SET farmreg.password_opslimit = 1;
SET farmreg.password_memlimit = 8;
BEGIN;
SELECT farmreg.register_farm_admin('taken_user', 'correct horse battery staple', 'Taken',
                                   'taken@example.com', bench.usda_uid(0, :farms)) IS NOT NULL AS registered \gset
CREATE TEMP TABLE peer_cases (n serial, username text, password text, name text,
                              email text, usda_uid text, key text, locale text);
INSERT INTO peer_cases (username, password, name, email, usda_uid, key, locale) VALUES
    ('alice', 'correct horse battery staple', 'Alice', 'alice@example.com', '10000005', NULL, NULL),
    (E'  bob.b-1_ \u00a0', 'correct horse battery staple', E'\tBob ', ' bob@mail.example.org ', ' 10000006 ', NULL, NULL),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    ('', '', '', '', '', '', 'es'),
    ('ab', 'short', repeat('n', 201), 'a@b', '10000007', E'k\x01', 'es-MX'),
    ('bad name!', repeat('p', 1025), 'N', 'a..b@example.com', 'nope', repeat('k', 256), 'es_MX.UTF-8'),
    ('TAKEN_USER', 'correct horse battery staple', 'T', 'TAKEN@example.com', bench.usda_uid(0, :farms), NULL, NULL),
    ('fresh', 'correct horse battery staple', 'F', 'x@example.com', bench.usda_uid(0, :farms), NULL, 'fr'),
    ('fresh2', 'correct horse battery staple', 'F', '.x@example.com', '10000008', NULL, NULL),
    ('fresh3', 'correct horse battery staple', 'F', 'x@-example.com', '10000008', NULL, NULL),
    ('fresh4', 'correct horse battery staple', 'F', 'x@example.123', '10000008', NULL, NULL),
    ('fresh5', 'correct horse battery staple', 'F', repeat('l', 65) || '@example.com', '10000008', NULL, NULL),
    ('fresh6', 'correct horse battery staple', 'F', 'x@exa_mple.com', '10000008', NULL, NULL),
    ('fresh7', 'correct horse battery staple', 'F', 'o''brien+tag@example.co.uk', '10000009', 'key-1', NULL);

DO $$
DECLARE
    r record;
    a farmreg.registration_result;
    b farmreg.registration_result;
    cases integer := 0;
    bad integer := 0;
BEGIN
    FOR r IN SELECT * FROM peer_cases ORDER BY n LOOP
        BEGIN
            a := farmreg.register_farm_admin(r.username, r.password, r.name, r.email,
                                             r.usda_uid, r.key, r.locale);
            RAISE EXCEPTION USING ERRCODE = 'BENCH';
        EXCEPTION WHEN SQLSTATE 'BENCH' THEN
            NULL;
        END;
        BEGIN
            b := bench.register_farm_admin_plpgsql(r.username, r.password, r.name, r.email,
                                                   r.usda_uid, r.key, r.locale);
            RAISE EXCEPTION USING ERRCODE = 'BENCH';
        EXCEPTION WHEN SQLSTATE 'BENCH' THEN
            NULL;
        END;
        cases := cases + 1;
        IF (a.ok, a.error_code, a.failed_step, a.message, a.errors)
           IS DISTINCT FROM (b.ok, b.error_code, b.failed_step, b.message, b.errors) THEN
            bad := bad + 1;
            RAISE WARNING 'peer_check case %: farmreg % / peer %', r.n,
                (a.ok, a.error_code, a.failed_step, a.errors),
                (b.ok, b.error_code, b.failed_step, b.errors);
        END IF;
    END LOOP;
    RAISE NOTICE 'peer_check % %', cases, bad;
END
$$;
ROLLBACK;
