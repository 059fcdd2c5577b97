-- bench/simple_check.sql -- does the simplest PL/pgSQL peer answer as intended?
--
-- bench/plpgsql_simple.sql makes the original app's three checks and the three
-- inserts, no more, so it is checked on what it is meant to do, not on
-- farmreg's field rules: requests with well-formed fields, one after another
-- in one pass (a later request sees what an earlier one wrote):
--   - the answer (ok, error_code, failed_step) is the one listed below;
--   - ok, error_code, message and errors are farmreg's own answer to the same
--     requests in the same order (failed_step differs only for a taken
--     username, which the simple peer learns from the users INSERT);
--   - a success wrote its user, the farm of its USDA record and the admin
--     farmer row linking them; a failure wrote nothing.
-- Each pass is rolled back (a raised error ends its block; PL/pgSQL variables
-- survive that), and so is the whole check.  Prints one line:
--   simple_check <cases> <mismatches>
\set ON_ERROR_STOP 1
SET farmreg.password_opslimit = 1;
SET farmreg.password_memlimit = 8;
BEGIN;
SELECT farmreg.register_farm_admin('taken_user', 'correct horse battery staple', 'Taken',
                                   'taken@example.com', bench.usda_uid(0, :farms)) IS NOT NULL AS registered \gset
CREATE TEMP TABLE simple_cases (n int, username text, email text, usda_uid text,
                                ok boolean, code text, step text);
INSERT INTO simple_cases VALUES
    (1, 'simple_a', 'simple_a@example.com', bench.usda_uid(1, :farms), true, NULL, NULL),
    (2, 'simple_b', 'simple_b@example.com', 'USDA-NOPE', false, 'invalid_usda_uid', 'validate'),
    (3, 'simple_c', 'simple_c@example.com', bench.usda_uid(0, :farms), false, 'farm_already_claimed', 'validate'),
    (4, 'simple_d', 'TAKEN@Example.COM', bench.usda_uid(3, :farms), false, 'email_already_claimed', 'validate'),
    (5, 'TAKEN_USER', 'simple_e@example.com', bench.usda_uid(4, :farms), false, 'username_taken', 'create_user'),
    (6, 'simple_f', 'simple_f@example.com', bench.usda_uid(1, :farms), false, 'farm_already_claimed', 'validate'),
    (7, 'simple_g', 'Simple_A@example.com', bench.usda_uid(5, :farms), false, 'email_already_claimed', 'validate'),
    (8, 'Simple_A', 'simple_h@example.com', bench.usda_uid(6, :farms), false, 'username_taken', 'create_user'),
    (9, 'simple_i', 'simple_i@example.com', bench.usda_uid(7, :farms), true, NULL, NULL);

DO $$
DECLARE
    r record;
    a farmreg.registration_result[] := '{}';
    b farmreg.registration_result[] := '{}';
    wrote boolean[] := '{}';
    res farmreg.registration_result;
    before bigint;
    cases integer := 0;
    bad integer := 0;
BEGIN
    -- farmreg's answers, in order
    BEGIN
        FOR r IN SELECT * FROM simple_cases ORDER BY n LOOP
            a := a || farmreg.register_farm_admin(r.username, 'correct horse battery staple',
                                                  'Farmer ' || r.n, r.email, r.usda_uid);
        END LOOP;
        RAISE EXCEPTION USING ERRCODE = 'BENCH';
    EXCEPTION WHEN SQLSTATE 'BENCH' THEN
        NULL;
    END;
    -- the simple peer's, in order, with what each wrote
    BEGIN
        FOR r IN SELECT * FROM simple_cases ORDER BY n LOOP
            SELECT (SELECT count(*) FROM farmreg.users) + (SELECT count(*) FROM farmreg.farms)
                   + (SELECT count(*) FROM farmreg.farmers) INTO before;
            res := bench.register_farm_admin_simple(r.username, 'correct horse battery staple',
                                                    'Farmer ' || r.n, r.email, r.usda_uid);
            b := b || res;
            IF res.ok THEN
                wrote := wrote || (EXISTS (
                    SELECT FROM farmreg.users AS u
                      JOIN farmreg.farmers AS fm ON fm.user_id = u.id AND fm.is_admin
                      JOIN farmreg.farms AS f ON f.id = fm.farm_id
                      JOIN farmreg.usda_farms AS uf ON uf.id = f.usda_farm_id
                     WHERE u.id = res.user_id AND f.id = res.farm_id AND fm.id = res.farmer_id
                       AND u.username = r.username AND u.email = r.email
                       AND uf.usda_uid = r.usda_uid AND f.name = uf.name
                       AND u.password_hash LIKE '$argon2id$%')
                    AND ((SELECT count(*) FROM farmreg.users) + (SELECT count(*) FROM farmreg.farms)
                         + (SELECT count(*) FROM farmreg.farmers)) = before + 3);
            ELSE
                wrote := wrote || (((SELECT count(*) FROM farmreg.users) + (SELECT count(*) FROM farmreg.farms)
                                    + (SELECT count(*) FROM farmreg.farmers)) = before);
            END IF;
        END LOOP;
        RAISE EXCEPTION USING ERRCODE = 'BENCH';
    EXCEPTION WHEN SQLSTATE 'BENCH' THEN
        NULL;
    END;

    FOR r IN SELECT * FROM simple_cases ORDER BY n LOOP
        cases := cases + 1;
        IF (b[r.n].ok, b[r.n].error_code, b[r.n].failed_step) IS DISTINCT FROM (r.ok, r.code, r.step)
           OR (a[r.n].ok, a[r.n].error_code, a[r.n].message, a[r.n].errors)
              IS DISTINCT FROM (b[r.n].ok, b[r.n].error_code, b[r.n].message, b[r.n].errors)
           OR NOT wrote[r.n] THEN
            bad := bad + 1;
            RAISE WARNING 'simple_check case %: expected % / simple peer % (rows as intended: %) / farmreg %',
                r.n, (r.ok, r.code, r.step),
                (b[r.n].ok, b[r.n].error_code, b[r.n].failed_step, b[r.n].errors), wrote[r.n],
                (a[r.n].ok, a[r.n].error_code, a[r.n].failed_step, a[r.n].errors);
        END IF;
    END LOOP;
    RAISE NOTICE 'simple_check % %', cases, bad;
END
$$;
ROLLBACK;
