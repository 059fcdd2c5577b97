-- bench/plpgsql_peer.sql -- the peer people would write instead of farmreg:
-- the same registration as one PL/pgSQL function.
--
-- Written the way a skilled PL/pgSQL author would, and given farmreg's own
-- performance choices wherever they are available to PL/pgSQL, so the
-- comparison is with the strongest reasonable peer, not a straw man:
--   - the same field rules (the README's field table), every error collected;
--   - ONE lookup query for everything the database knows (as farmreg does),
--     plans cached by PL/pgSQL for the session;
--   - the password hashed only after validation, with the same argon2id call
--     and costs (bench.argon2id; PostgreSQL has no argon2id of its own);
--   - the three inserts (and the idempotency key) in one BEGIN ... EXCEPTION
--     block, i.e. one subtransaction; unique violations mapped to the same
--     codes, whole-transaction conditions re-raised, anything else
--     internal_error with its SQLSTATE;
--   - SECURITY DEFINER with a pinned search_path, as farmreg is (both pay the
--     same per-call GUC save/restore for it);
--   - the same result type, with catalog copy (and locale fallback) on failure.
-- Idempotency keys use sha256() instead of BLAKE2b; the benchmark's
-- registrations carry no key, as farmreg's do not.

CREATE OR REPLACE FUNCTION bench.plpgsql_failure(
    p_codes text[],             -- one per field, in contract order, NULL = fine
    p_step text,
    p_sqlstate text,
    p_locale text)
RETURNS farmreg.registration_result
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    fields CONSTANT text[] := ARRAY['username', 'password', 'name', 'email',
                                    'usda_uid', 'idempotency_key', NULL];
    v_loc text := coalesce(nullif(p_locale, ''),
                           nullif(current_setting('farmreg.locale', true), ''), 'en');
    v_lang text;
    v_region text;
    v_chain text[];
    v_errors jsonb;
BEGIN
    v_lang := lower(substring(v_loc FROM '^[^-_.@]*'));
    v_region := substring(v_loc FROM '^[^-_.@]*[-_]([A-Za-z]{2})(?:[.@]|$)');
    v_chain := ARRAY[v_lang || coalesce('-' || upper(v_region), ''), v_lang, 'en'];

    SELECT jsonb_agg(jsonb_build_object('field', fields[e.ord], 'code', e.code,
                                        'message', m.message)
                     || CASE WHEN e.code = 'internal_error'
                             THEN jsonb_build_object('sqlstate', p_sqlstate)
                             ELSE '{}'::jsonb END
                     ORDER BY e.ord)
      INTO v_errors
      FROM unnest(p_codes || CASE WHEN p_sqlstate IS NULL THEN NULL::text
                                  ELSE 'internal_error' END)
           WITH ORDINALITY AS e(code, ord)
      LEFT JOIN LATERAL (
            SELECT mm.message FROM farmreg.messages AS mm
             WHERE mm.code = e.code AND mm.locale = ANY (v_chain)
             ORDER BY array_position(v_chain, mm.locale)
             LIMIT 1) AS m ON true
     WHERE e.code IS NOT NULL;

    RETURN ROW(false, NULL, NULL, NULL, v_errors -> 0 ->> 'code', p_step,
               v_errors -> 0 ->> 'message', v_errors)::farmreg.registration_result;
END
$fn$;

CREATE OR REPLACE FUNCTION bench.register_farm_admin_plpgsql(
    p_username text,
    p_password text,
    p_name text,
    p_email text,
    p_usda_uid text,
    p_idempotency_key text DEFAULT NULL,
    p_locale text DEFAULT NULL)
RETURNS farmreg.registration_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    -- Unicode White_Space, trimmed from both ends as farmreg does
    ws CONSTANT text := E' \t\n\u000b\f\r\u0085\u00a0\u1680\u2000\u2001\u2002\u2003'
                        || E'\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029'
                        || E'\u202f\u205f\u3000';
    v_username text := btrim(coalesce(p_username, ''), ws);
    v_password text := coalesce(p_password, '');     -- never trimmed
    v_name text := btrim(coalesce(p_name, ''), ws);
    v_email text := btrim(coalesce(p_email, ''), ws);
    v_usda_uid text := btrim(coalesce(p_usda_uid, ''), ws);
    v_key text := btrim(p_idempotency_key, ws);      -- NULL stays NULL
    c text[] := ARRAY[NULL, NULL, NULL, NULL, NULL, NULL]::text[];
    v_digest bytea;
    lk record;
    v_hash text;
    v_step text;
    v_user_id bigint;
    v_farm_id bigint;
    v_farmer_id bigint;
    v_constraint text;
BEGIN
    -- field rules
    IF v_username = '' THEN
        c[1] := 'username_blank';
    ELSIF v_username !~ '^[A-Za-z0-9_.-]{3,32}$' THEN
        c[1] := 'username_invalid';
    END IF;
    IF length(v_password) < 8 THEN
        c[2] := 'password_too_short';
    ELSIF length(v_password) > 1024 THEN
        c[2] := 'password_too_long';
    END IF;
    IF v_name = '' THEN
        c[3] := 'name_blank';
    ELSIF length(v_name) > 200 THEN
        c[3] := 'name_too_long';
    END IF;
    IF v_email = '' THEN
        c[4] := 'email_blank';
    ELSIF length(v_email) > 254
          OR strpos(v_email, '@') > 65
          OR v_email !~ '^[-!#-''*+/-9=?A-Z^-~]+(\.[-!#-''*+/-9=?A-Z^-~]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$'
          OR v_email !~ '[A-Za-z][A-Za-z0-9-]*$' THEN
        c[4] := 'email_invalid';
    END IF;
    IF v_usda_uid = '' THEN
        c[5] := 'usda_uid_blank';
    END IF;
    IF v_key IS NOT NULL THEN
        IF v_key = '' OR length(v_key) > 255
           OR v_key ~ '[\x01-\x1f\x7f-\x9f\u2028\u2029]' THEN
            c[6] := 'idempotency_key_invalid';
        ELSE
            v_digest := sha256(convert_to(
                length(v_username) || ':' || v_username || length(v_name) || ':' || v_name ||
                length(v_email) || ':' || v_email || length(v_usda_uid) || ':' || v_usda_uid,
                'UTF8'));
        END IF;
    END IF;

    -- everything the database knows, in one query (a field whose format is
    -- wrong is looked up as NULL, which matches nothing)
    SELECT EXISTS (SELECT FROM farmreg.users AS u
                    WHERE lower(u.username COLLATE "C") = lower(CASE WHEN c[1] IS NULL THEN v_username END))
               AS username_taken,
           EXISTS (SELECT FROM farmreg.users AS u
                    WHERE lower(u.email COLLATE "C") = lower(CASE WHEN c[4] IS NULL THEN v_email END))
               AS email_taken,
           f.id AS usda_farm_id, f.name AS usda_name,
           EXISTS (SELECT FROM farmreg.farms AS fm WHERE fm.usda_farm_id = f.id)
               AS farm_claimed,
           k.request_digest, k.user_id, k.farm_id, k.farmer_id
      INTO lk
      FROM (SELECT) AS one
      LEFT JOIN farmreg.usda_farms AS f
             ON f.usda_uid = CASE WHEN c[5] IS NULL THEN v_usda_uid END
      LEFT JOIN farmreg.idempotency_keys AS k
             ON k.key = CASE WHEN c[6] IS NULL THEN v_key END;

    IF lk.request_digest IS NOT NULL THEN
        IF lk.request_digest = v_digest THEN
            RETURN ROW(true, lk.user_id, lk.farm_id, lk.farmer_id, NULL, NULL, NULL,
                       '[]'::jsonb)::farmreg.registration_result;
        END IF;
        c[6] := 'idempotency_key_reused';
        RETURN bench.plpgsql_failure(c, 'validate', NULL, p_locale);
    END IF;
    IF c[1] IS NULL AND lk.username_taken THEN
        c[1] := 'username_taken';
    END IF;
    IF c[4] IS NULL AND lk.email_taken THEN
        c[4] := 'email_already_claimed';
    END IF;
    IF c[5] IS NULL THEN
        IF lk.usda_farm_id IS NULL THEN
            c[5] := 'invalid_usda_uid';
        ELSIF lk.farm_claimed THEN
            c[5] := 'farm_already_claimed';
        END IF;
    END IF;
    IF c[1] IS NOT NULL OR c[2] IS NOT NULL OR c[3] IS NOT NULL OR
       c[4] IS NOT NULL OR c[5] IS NOT NULL OR c[6] IS NOT NULL THEN
        RETURN bench.plpgsql_failure(c, 'validate', NULL, p_locale);
    END IF;

    -- only an accepted request pays for hashing
    v_hash := bench.argon2id(v_password, 1, 8);

    BEGIN
        v_step := 'create_user';
        INSERT INTO farmreg.users (username, email, name, password_hash)
        VALUES (v_username, v_email, v_name, v_hash)
        RETURNING id INTO v_user_id;

        v_step := 'create_farm';
        INSERT INTO farmreg.farms (name, usda_farm_id)
        VALUES (lk.usda_name, lk.usda_farm_id)
        RETURNING id INTO v_farm_id;

        v_step := 'create_farmer';
        INSERT INTO farmreg.farmers (user_id, farm_id, is_admin)
        VALUES (v_user_id, v_farm_id, true)
        RETURNING id INTO v_farmer_id;

        IF v_key IS NOT NULL THEN
            v_step := 'record_idempotency_key';
            INSERT INTO farmreg.idempotency_keys
                   (key, request_digest, user_id, farm_id, farmer_id)
            VALUES (v_key, v_digest, v_user_id, v_farm_id, v_farmer_id);
        END IF;
    EXCEPTION
        WHEN serialization_failure OR deadlock_detected OR read_only_sql_transaction
             OR admin_shutdown OR crash_shutdown OR cannot_connect_now THEN
            RAISE;
        WHEN unique_violation THEN
            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
            IF v_key IS NOT NULL THEN
                -- another session may have registered under our key
                SELECT k.request_digest, k.user_id, k.farm_id, k.farmer_id
                  INTO lk FROM farmreg.idempotency_keys AS k WHERE k.key = v_key;
                IF FOUND THEN
                    IF lk.request_digest = v_digest THEN
                        RETURN ROW(true, lk.user_id, lk.farm_id, lk.farmer_id, NULL, NULL,
                                   NULL, '[]'::jsonb)::farmreg.registration_result;
                    END IF;
                    c[6] := 'idempotency_key_reused';
                    RETURN bench.plpgsql_failure(c, 'validate', NULL, p_locale);
                END IF;
            END IF;
            CASE v_constraint
                WHEN 'users_username_lower_key' THEN c[1] := 'username_taken';
                WHEN 'users_email_lower_key' THEN c[4] := 'email_already_claimed';
                WHEN 'farms_usda_farm_id_key' THEN c[5] := 'farm_already_claimed';
                WHEN 'idempotency_keys_pkey' THEN
                    RAISE EXCEPTION 'could not serialize access due to a concurrent registration with the same idempotency key'
                          USING ERRCODE = 'serialization_failure';
                ELSE
                    RAISE LOG 'registration failed in step "%": %', v_step, SQLERRM;
                    RETURN bench.plpgsql_failure(c, v_step, SQLSTATE, p_locale);
            END CASE;
            RETURN bench.plpgsql_failure(c, v_step, NULL, p_locale);
        WHEN OTHERS THEN
            RAISE LOG 'registration failed in step "%": %', v_step, SQLERRM;
            RETURN bench.plpgsql_failure(c, v_step, SQLSTATE, p_locale);
    END;

    RETURN ROW(true, v_user_id, v_farm_id, v_farmer_id, NULL, NULL, NULL,
               '[]'::jsonb)::farmreg.registration_result;
END
$fn$;
