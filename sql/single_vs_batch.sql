--
-- single_vs_batch: one path.  Random requests (valid ones, every field
-- error, taken values, values that differ only in case, repeated keys with
-- the same and with another request, duplicates inside the batch) are sent
-- once as single calls in sequence and once as one batch, from the same
-- starting state; the results must be identical, ids and copy included.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS farmreg;
CREATE EXTENSION farmreg;
RESET client_min_messages;
SET farmreg.password_opslimit = 1;
SET farmreg.password_memlimit = '8kB';
INSERT INTO farmreg.usda_farms (usda_uid, name)
SELECT 'USDA-' || g, 'Farm ' || g FROM generate_series(1, 40) AS g;

-- A starting state: users, farms and keys the requests collide with.
CREATE FUNCTION reset_state() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE farmreg.farmers, farmreg.farms, farmreg.idempotency_keys, farmreg.users,
             farmreg.events, farmreg.event_consumers;
    PERFORM setval('farmreg.users_id_seq', 1, false), setval('farmreg.farms_id_seq', 1, false),
            setval('farmreg.farmers_id_seq', 1, false);
    PERFORM farmreg.register_farm_admin('taken', 'pw-SECRET-taken1', 'Taken', 'taken@x.example',
                                        'USDA-1', 'k-taken');
    PERFORM farmreg.register_farm_admin('Other', 'pw-SECRET-other1', 'Other', 'other@x.example',
                                        'USDA-2');
END
$$;

-- n random requests: each one a person from a small pool (so that the same
-- request comes again, with its key or without), one field in four bent
-- into a case variant, another person's value, or something the field rules
-- refuse, and a key from a small pool half the time.
CREATE FUNCTION random_requests(n integer) RETURNS TABLE (ordinal integer, req jsonb)
LANGUAGE sql AS $$
    WITH people AS (
        SELECT p, 'user' || p AS username, 'Person ' || p AS name,
               'user' || p || '@x.example' AS email, 'USDA-' || (2 + p) AS usda_uid
          FROM generate_series(1, 25) AS p
    ), picks AS (
        SELECT g, 1 + floor(random() * 25)::int AS p, floor(random() * 24)::int AS bend,
               random() AS r1, random() AS r2,
               (ARRAY[NULL, NULL, NULL, NULL, NULL, 'k1', 'k2', 'k3', 'k-taken', 'K1'])
                   [1 + floor(random() * 10)::int] AS key
          FROM generate_series(1, n) AS g
    )
    SELECT g, jsonb_strip_nulls(jsonb_build_object(
        'username', CASE bend
                        WHEN 0 THEN upper(username)
                        WHEN 1 THEN (ARRAY['taken', 'TAKEN', 'other', 'x', '', 'bad name', NULL])[1 + floor(r1 * 7)::int]
                        WHEN 2 THEN 'user' || (1 + floor(r1 * 25)::int)
                        ELSE username END,
        'password', CASE bend
                        WHEN 3 THEN (ARRAY['short', '', NULL, repeat('p', 1025)])[1 + floor(r1 * 4)::int]
                        ELSE 'pw-SECRET-diff-' || floor(r2 * 3)::int END,
        'name', CASE bend
                    WHEN 4 THEN (ARRAY['', '   ', NULL, repeat('n', 201)])[1 + floor(r1 * 4)::int]
                    WHEN 5 THEN 'Someone Else'
                    ELSE name END,
        'email', CASE bend
                     WHEN 6 THEN upper(email)
                     WHEN 7 THEN (ARRAY['taken@x.example', 'Taken@X.Example', 'nope', '', NULL])[1 + floor(r1 * 5)::int]
                     WHEN 8 THEN 'user' || (1 + floor(r1 * 25)::int) || '@x.example'
                     ELSE email END,
        'usda_uid', CASE bend
                        WHEN 9 THEN (ARRAY['USDA-1', 'USDA-2', 'USDA-404', '', NULL])[1 + floor(r1 * 5)::int]
                        WHEN 10 THEN 'USDA-' || (3 + floor(r1 * 25)::int)
                        ELSE usda_uid END,
        'idempotency_key', CASE bend WHEN 11 THEN (ARRAY['', repeat('k', 256)])[1 + floor(r1 * 2)::int]
                                     ELSE key END))
      FROM picks JOIN people USING (p)
$$;

CREATE TEMP TABLE requests (round integer, ordinal integer, req jsonb);
CREATE TEMP TABLE answers (round integer, how text, ordinal integer, ok boolean, user_id bigint,
                           farm_id bigint, farmer_id bigint, error_code text, failed_step text,
                           message text, errors jsonb);

CREATE FUNCTION run_round(r integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    q record;
BEGIN
    PERFORM reset_state();
    FOR q IN SELECT * FROM requests WHERE round = r ORDER BY ordinal LOOP
        INSERT INTO answers
        SELECT r, 'single', q.ordinal, a.*
          FROM farmreg.register_farm_admin(q.req->>'username', q.req->>'password', q.req->>'name',
                                           q.req->>'email', q.req->>'usda_uid',
                                           q.req->>'idempotency_key') AS a;
    END LOOP;
    PERFORM reset_state();
    INSERT INTO answers
    SELECT r, 'batch', b.*
      FROM farmreg.register_farm_admins(
             (SELECT jsonb_agg(req ORDER BY ordinal) FROM requests WHERE round = r)) AS b;
END
$$;

SELECT setseed(0.2026);
INSERT INTO requests SELECT r, q.* FROM generate_series(1, 6) AS r, LATERAL random_requests(200) AS q;
SELECT run_round(r) FROM generate_series(1, 6) AS r;

-- what the rounds covered
SELECT count(*) AS requests,
       count(*) FILTER (WHERE ok AND error_code IS NULL) AS ok,
       count(DISTINCT error_code) AS distinct_codes,
       count(*) FILTER (WHERE error_code = 'idempotency_key_reused') > 0 AS saw_key_reuse,
       count(*) FILTER (WHERE ok AND (SELECT count(*) FROM answers AS o WHERE o.round = a.round
                                      AND o.how = a.how AND o.user_id = a.user_id) > 1) > 0 AS saw_replays
  FROM answers AS a WHERE how = 'batch';
SELECT string_agg(DISTINCT c #>> '{}', ', ' ORDER BY c #>> '{}') AS every_code_seen
  FROM answers, jsonb_path_query(errors, '$[*].code') AS c;

-- and the two ways answered the same, to the last field
SELECT round, ordinal, how, ok, user_id, error_code, errors
  FROM ((SELECT * FROM answers WHERE how = 'single'
         EXCEPT SELECT round, 'single', ordinal, ok, user_id, farm_id, farmer_id, error_code,
                       failed_step, message, errors FROM answers WHERE how = 'batch')
        UNION ALL
        (SELECT * FROM answers WHERE how = 'batch'
         EXCEPT SELECT round, 'batch', ordinal, ok, user_id, farm_id, farmer_id, error_code,
                       failed_step, message, errors FROM answers WHERE how = 'single')) AS d
 ORDER BY round, ordinal, how;
-- a success never carries errors
SELECT count(*) AS successes_with_errors FROM answers WHERE ok AND errors <> '[]';

DROP FUNCTION reset_state(), random_requests(integer), run_round(integer);
DROP EXTENSION farmreg;
