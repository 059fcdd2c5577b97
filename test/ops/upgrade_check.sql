--
-- test/ops/upgrade_check.sql -- helpers for the upgrade suite, in a schema of
-- their own (upgcheck) so that they never show in the catalog snapshot of
-- schema farmreg.
--
-- upgcheck.take_snapshot() copies the operator data -- what pg_dump would
-- save: every row of the config-dump tables registered with no condition, the
-- rows matching the condition of the others (messages: the operator's copy
-- edits) -- and every sequence's position into schema upgcheck_snap.
--
-- upgcheck.compare_snapshot() then lists, one line each, what an upgrade lost:
-- a table or column gone, a row missing or changed (compared over the columns
-- the snapshot has, so that an upgrade may add columns), rows added to a
-- fully-dumped table, a sequence moved backwards.  No line: nothing lost.
--
CREATE SCHEMA IF NOT EXISTS upgcheck;

CREATE OR REPLACE FUNCTION upgcheck.take_snapshot() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    DROP SCHEMA IF EXISTS upgcheck_snap CASCADE;
    CREATE SCHEMA upgcheck_snap;
    CREATE TABLE upgcheck_snap.meta (relname text PRIMARY KEY, condition text NOT NULL);
    CREATE TABLE upgcheck_snap.sequences (relname text PRIMARY KEY, last_value bigint, is_called boolean);

    FOR r IN
        SELECT c.relname, c.relkind, u.cond
          FROM pg_extension AS e,
               unnest(e.extconfig, e.extcondition) AS u(reloid, cond)
          JOIN pg_class AS c ON c.oid = u.reloid
         WHERE e.extname = 'farmreg'
    LOOP
        IF r.relkind = 'S' THEN
            CONTINUE;           -- sequences: all of them, below
        END IF;
        EXECUTE format('CREATE TABLE upgcheck_snap.%I AS SELECT * FROM farmreg.%I %s',
                       r.relname, r.relname, r.cond);
        INSERT INTO upgcheck_snap.meta VALUES (r.relname, r.cond);
    END LOOP;

    FOR r IN
        SELECT c.relname FROM pg_class AS c
         WHERE c.relnamespace = 'farmreg'::regnamespace AND c.relkind = 'S'
    LOOP
        EXECUTE format('INSERT INTO upgcheck_snap.sequences
                        SELECT %L, last_value, is_called FROM farmreg.%I', r.relname, r.relname);
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION upgcheck.compare_snapshot() RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    m record;
    s record;
    cols text;
    missing_cols text;
    n bigint;
    now_rows bigint;
    then_rows bigint;
BEGIN
    FOR m IN SELECT * FROM upgcheck_snap.meta ORDER BY relname LOOP
        IF to_regclass(format('farmreg.%I', m.relname)) IS NULL THEN
            RETURN NEXT format('table farmreg.%s is gone', m.relname);
            CONTINUE;
        END IF;
        SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum),
               string_agg(a.attname, ', ' ORDER BY a.attnum)
                   FILTER (WHERE NOT EXISTS (
                       SELECT 1 FROM pg_attribute AS b
                        WHERE b.attrelid = format('farmreg.%I', m.relname)::regclass
                          AND b.attname = a.attname AND b.attnum > 0 AND NOT b.attisdropped))
          INTO cols, missing_cols
          FROM pg_attribute AS a
         WHERE a.attrelid = format('upgcheck_snap.%I', m.relname)::regclass
           AND a.attnum > 0 AND NOT a.attisdropped;
        IF missing_cols IS NOT NULL THEN
            RETURN NEXT format('table farmreg.%s lost column(s) %s', m.relname, missing_cols);
            CONTINUE;
        END IF;

        -- every row the operator had is still there, unchanged
        EXECUTE format('SELECT count(*) FROM (SELECT ROW(%1$s)::text FROM upgcheck_snap.%2$I
                          EXCEPT ALL SELECT ROW(%1$s)::text FROM farmreg.%2$I) AS x',
                       cols, m.relname)
           INTO n;
        IF n > 0 THEN
            RETURN NEXT format('table farmreg.%s: %s row(s) of the operator''s data missing or changed',
                               m.relname, n);
        END IF;

        -- and a table dumped whole has no rows the operator did not add
        IF m.condition = '' THEN
            EXECUTE format('SELECT (SELECT count(*) FROM farmreg.%1$I), (SELECT count(*) FROM upgcheck_snap.%1$I)',
                           m.relname)
               INTO now_rows, then_rows;
            IF now_rows <> then_rows THEN
                RETURN NEXT format('table farmreg.%s: %s rows before, %s after', m.relname, then_rows, now_rows);
            END IF;
        END IF;
    END LOOP;

    FOR s IN SELECT * FROM upgcheck_snap.sequences ORDER BY relname LOOP
        IF to_regclass(format('farmreg.%I', s.relname)) IS NULL THEN
            RETURN NEXT format('sequence farmreg.%s is gone', s.relname);
            CONTINUE;
        END IF;
        EXECUTE format('SELECT last_value FROM farmreg.%I', s.relname) INTO n;
        IF n < s.last_value THEN
            RETURN NEXT format('sequence farmreg.%s went back from %s to %s', s.relname, s.last_value, n);
        END IF;
    END LOOP;
END
$$;
