-- bench/plpgsql_simple.sql -- the simplest PL/pgSQL function a user would
-- write instead of farmreg: the original app's registration, transcribed.
--
-- The Elixir app checked three things before writing (issue 11): the USDA
-- record exists, its farm is not claimed yet, the email is not taken; then it
-- inserted the user, the farm and the farmer as one unit.  This function does
-- exactly that and nothing more:
--   - no field rules (the app validated in its changesets, in the client);
--   - no username lookup (a taken username surfaces as the unique violation
--     of the users INSERT) and no idempotency keys;
--   - no outbox event;
--   - the three inserts in one BEGIN ... EXCEPTION block (one
--     subtransaction), a unique violation mapped to its code;
--   - neither SECURITY DEFINER nor a pinned search_path (farmreg pays the GUC
--     save/restore for both; a quick hand-written function does not).
-- It still pays the same argon2id hash as every variant (bench.argon2id,
-- libsodium's minimum costs), and returns farmreg's result type, so a client
-- reads the same row.  The lookups use the unique indexes' own expressions
-- (lower(... COLLATE "C")); anything else would scan farmreg.users.
-- bench/simple_check.sql checks that it answers as intended.

CREATE OR REPLACE FUNCTION bench.register_farm_admin_simple(
    p_username text,
    p_password text,
    p_name text,
    p_email text,
    p_usda_uid text)
RETURNS farmreg.registration_result
LANGUAGE plpgsql VOLATILE
AS $fn$
DECLARE
    v_usda_id bigint;
    v_usda_name text;
    v_user_id bigint;
    v_farm_id bigint;
    v_farmer_id bigint;
    v_step text := 'validate';
    v_field text;
    v_code text;
    v_constraint text;
BEGIN
    SELECT f.id, f.name INTO v_usda_id, v_usda_name
      FROM farmreg.usda_farms AS f WHERE f.usda_uid = p_usda_uid;
    IF NOT FOUND THEN
        v_field := 'usda_uid';
        v_code := 'invalid_usda_uid';
    ELSIF EXISTS (SELECT FROM farmreg.farms AS fm WHERE fm.usda_farm_id = v_usda_id) THEN
        v_field := 'usda_uid';
        v_code := 'farm_already_claimed';
    ELSIF EXISTS (SELECT FROM farmreg.users AS u
                   WHERE lower(u.email COLLATE "C") = lower(p_email COLLATE "C")) THEN
        v_field := 'email';
        v_code := 'email_already_claimed';
    ELSE
        BEGIN
            v_step := 'create_user';
            INSERT INTO farmreg.users (username, email, name, password_hash)
            VALUES (p_username, p_email, p_name, bench.argon2id(p_password, 1, 8))
            RETURNING id INTO v_user_id;

            v_step := 'create_farm';
            INSERT INTO farmreg.farms (name, usda_farm_id)
            VALUES (v_usda_name, v_usda_id)
            RETURNING id INTO v_farm_id;

            v_step := 'create_farmer';
            INSERT INTO farmreg.farmers (user_id, farm_id, is_admin)
            VALUES (v_user_id, v_farm_id, true)
            RETURNING id INTO v_farmer_id;

            RETURN ROW(true, v_user_id, v_farm_id, v_farmer_id, NULL, NULL, NULL,
                       '[]'::jsonb)::farmreg.registration_result;
        EXCEPTION WHEN unique_violation THEN
            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
            CASE v_constraint
                WHEN 'users_username_lower_key' THEN
                    v_field := 'username';
                    v_code := 'username_taken';
                WHEN 'users_email_lower_key' THEN
                    v_field := 'email';
                    v_code := 'email_already_claimed';
                WHEN 'farms_usda_farm_id_key' THEN
                    v_field := 'usda_uid';
                    v_code := 'farm_already_claimed';
                ELSE
                    RAISE;
            END CASE;
        END;
    END IF;

    -- a failure: the code and its English copy, in farmreg's result shape
    RETURN (SELECT ROW(false, NULL, NULL, NULL, v_code, v_step, m.message,
                       jsonb_build_array(jsonb_build_object('field', v_field, 'code', v_code,
                                                            'message', m.message)))::farmreg.registration_result
              FROM (SELECT) AS one
              LEFT JOIN farmreg.messages AS m ON m.code = v_code AND m.locale = 'en');
END
$fn$;
