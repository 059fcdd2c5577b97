-- bench/report.sql -- the tables of results.md, from the results.* tables that
-- scripts/bench.sh loads from the CSV files.  Run with psql -At and the
-- variables bench.sh passes (-v nproc=... -v cpu=... ...).
\set ON_ERROR_STOP 1

-- load farmreg, so its settings (the default hashing costs) can be shown
SELECT farmreg.error_message('username_taken') IS NOT NULL AS loaded \gset

CREATE FUNCTION pg_temp.x2(float8) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT to_char($1, 'FM9990.00') || '×' $$;
CREATE FUNCTION pg_temp.r2(float8) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT to_char($1, 'FM9990.00') $$;
CREATE FUNCTION pg_temp.ms(float8) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN $1 >= 100 THEN to_char($1, 'FM999990') ELSE to_char($1, 'FM990.00') END $$;
CREATE FUNCTION pg_temp.label(text) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE $1 WHEN 'farmreg' THEN 'farmreg'
                     WHEN 'plpgsql' THEN 'PL/pgSQL peer'
                     WHEN 'client_tx' THEN 'client-side tx'
                     WHEN 'floor' THEN 'floor (one CTE)'
                     ELSE $1 END $$;
CREATE FUNCTION pg_temp.sync_order(text) RETURNS int LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE $1 WHEN 'on' THEN 1 ELSE 2 END $$;

-- medians per configuration and variant
CREATE TEMP VIEW med AS
SELECT sync, clients, variant, count(*) AS n,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY tps) AS tps,
       min(tps) AS lo, max(tps) AS hi
  FROM results.runs GROUP BY sync, clients, variant;

-- farmreg / peer: ratio of the medians, and the range of the per-round
-- ratios (the variants of a round ran back to back)
CREATE TEMP VIEW ratio AS
SELECT f.sync, f.clients, p.variant,
       f.tps / p.tps AS ratio,
       (SELECT min(a.tps / b.tps) FROM results.runs a JOIN results.runs b USING (round, sync, clients)
         WHERE a.variant = 'farmreg' AND b.variant = p.variant
           AND a.sync = f.sync AND a.clients = f.clients) AS lo,
       (SELECT max(a.tps / b.tps) FROM results.runs a JOIN results.runs b USING (round, sync, clients)
         WHERE a.variant = 'farmreg' AND b.variant = p.variant
           AND a.sync = f.sync AND a.clients = f.clients) AS hi
  FROM med f JOIN med p USING (sync, clients)
 WHERE f.variant = 'farmreg' AND p.variant <> 'farmreg';

-- CPU per registration (server + pgbench), medians per configuration
CREATE TEMP VIEW cpu AS
SELECT sync, clients, variant,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY server_cpu_us) AS server_us,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY server_sys_us) AS server_sys_us,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY client_cpu_us) AS client_us,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY server_cpu_us + client_cpu_us) AS total_us
  FROM results.runs GROUP BY sync, clients, variant;
-- peer CPU / farmreg CPU: the throughput ratio to expect when CPU-bound
CREATE TEMP VIEW cpu_ratio AS
SELECT f.sync, f.clients, p.variant, p.total_us / f.total_us AS ratio
  FROM cpu f JOIN cpu p USING (sync, clients)
 WHERE f.variant = 'farmreg' AND p.variant <> 'farmreg';
-- server instructions per registration (callgrind)
CREATE TEMP VIEW ins AS
SELECT variant, instructions AS total FROM results.instructions WHERE item = 'TOTAL';

\echo '# farmreg benchmark results'
\echo
SELECT format('`make bench` on commit `%s`, started %s; the whole run took **%s min %s s**.',
              :'commit', :'started', :runtime / 60, :runtime % 60);
\echo
\echo '## Machine and settings'
\echo
\echo '| | |'
\echo '|---|---|'
SELECT format('| CPU | %s × %s |', :nproc, :'cpu');
SELECT format('| memory | %s |', :'mem');
SELECT format('| PostgreSQL | %s |', split_part(version(), ' on ', 1));
SELECT format('| fsync / full_page_writes | %s / %s |', current_setting('fsync'), current_setting('full_page_writes'));
SELECT format('| synchronous_commit | on and off, per session, as the tables say |');
SELECT format('| shared_buffers | %s |', current_setting('shared_buffers'));
SELECT format('| max_wal_size / checkpoint_timeout | %s / %s, and a CHECKPOINT before every run |',
              current_setting('max_wal_size'), current_setting('checkpoint_timeout'));
SELECT format('| data | %s fake USDA farms, %s farm admins registered before the runs; every run starts from exactly those (bench/seed.sql) |', :farms, :seed);
SELECT format('| hashing, main runs | argon2id opslimit 1, memlimit 8 kB for every variant |');
SELECT format('| hashing, default-cost runs | farmreg''s defaults: opslimit %s, memlimit %s |',
              current_setting('farmreg.password_opslimit'), current_setting('farmreg.password_memlimit'));
SELECT format('| pgbench | -M prepared, %s s per run, %s rounds, variants interleaved in every round; -j = min(clients, %s) |',
              :seconds, :rounds, :nproc);
SELECT format('| load average (1/5/15 min) at start / at end | %s / %s |', :'load_start', :'load_end');

\echo
\echo '## Goals (issue 7)'
\echo
\echo 'Three measures of the same ratio (farmreg over the peer; above 1 = farmreg is faster):'
\echo '**throughput**, the goal''s own measure: median registrations/s, median over the'
\echo 'configurations (lowest–highest), and in how many configurations the goal holds;'
\echo '**CPU**: the peer''s CPU time per registration (server + pgbench) over farmreg''s, i.e.'
\echo 'the throughput ratio when the machine is CPU-bound, which other load disturbs much less;'
\echo '**instructions**: server instructions per registration (callgrind, exact; no round trips,'
\echo 'so for the client-side transaction it leaves out exactly what that variant is slow at).'
\echo
\echo '| goal | target | throughput | configurations meeting it | CPU | instructions | verdict (throughput) |'
\echo '|---|--:|--:|--:|--:|--:|---|'
WITH g(ord, goal, variant, target) AS (
    VALUES (1, 'farmreg vs the PL/pgSQL peer', 'plpgsql', 1.0),
           (2, 'farmreg vs the client-side transaction', 'client_tx', 2.5),
           (3, 'farmreg vs the floor', 'floor', 0.85))
SELECT format('| %s | ≥ %s× | %s (%s–%s) | %s of %s | %s (%s–%s) | %s | %s |', g.goal, g.target,
              pg_temp.x2(percentile_cont(0.5) WITHIN GROUP (ORDER BY r.ratio)),
              pg_temp.r2(min(r.ratio)), pg_temp.r2(max(r.ratio)),
              count(*) FILTER (WHERE r.ratio >= g.target), count(*),
              (SELECT pg_temp.x2(percentile_cont(0.5) WITHIN GROUP (ORDER BY c.ratio))
                 FROM cpu_ratio c WHERE c.variant = g.variant),
              (SELECT pg_temp.r2(min(c.ratio)) FROM cpu_ratio c WHERE c.variant = g.variant),
              (SELECT pg_temp.r2(max(c.ratio)) FROM cpu_ratio c WHERE c.variant = g.variant),
              coalesce((SELECT pg_temp.x2(p.total::float8 / f.total)
                          FROM ins f, ins p WHERE f.variant = 'farmreg' AND p.variant = g.variant),
                       'not counted'),
              CASE WHEN bool_and(r.ratio >= g.target) THEN 'met'
                   WHEN bool_or(r.ratio >= g.target) THEN 'partly met'
                   ELSE '**not met**' END)
  FROM g JOIN ratio r ON r.variant = g.variant
 GROUP BY g.ord, g.goal, g.target, g.variant
 ORDER BY g.ord;
WITH b AS (
    SELECT mode, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms
      FROM results.batch WHERE ok = requests GROUP BY mode)
SELECT format('| batch vs single calls sent one at a time (one statement each, one transaction) | ≥ 2× | %s | %s | – | – | %s |',
              CASE WHEN bb.ms IS NULL OR st.ms IS NULL THEN 'not measured' ELSE pg_temp.x2(st.ms / bb.ms) END,
              CASE WHEN bb.ms IS NULL OR st.ms IS NULL THEN '–' ELSE '1 of 1' END,
              CASE WHEN bb.ms IS NULL OR st.ms IS NULL THEN 'not measured (see Batch)'
                   WHEN st.ms / bb.ms >= 2 THEN 'met' ELSE '**not met**' END)
  FROM (SELECT 1) AS one
  LEFT JOIN b AS st ON st.mode = 'statements'
  LEFT JOIN b AS bb ON bb.mode = 'batch';
WITH b AS (
    SELECT mode, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms
      FROM results.batch WHERE ok = requests GROUP BY mode)
SELECT format('| batch vs single calls all in one statement (no round trips; stricter than the goal) | ≥ 2× | %s | %s | – | – | %s |',
              CASE WHEN bb.ms IS NULL THEN 'not measured' ELSE pg_temp.x2(s.ms / bb.ms) END,
              CASE WHEN bb.ms IS NULL THEN '–' ELSE '1 of 1' END,
              CASE WHEN bb.ms IS NULL THEN 'not measured (see Batch)'
                   WHEN s.ms / bb.ms >= 2 THEN 'met' ELSE '**not met**' END)
  FROM (SELECT 1) AS one
  LEFT JOIN b AS s ON s.mode = 'single'
  LEFT JOIN b AS bb ON bb.mode = 'batch';
\echo
\echo '## Throughput (registrations per second)'
\echo
\echo 'Median over the rounds, and in brackets the spread of the rounds ((max − min) / median).'
\echo 'Ratios are farmreg''s median over the peer''s, and in brackets the lowest and highest'
\echo 'ratio of a single round (the four variants of a round ran back to back).'
\echo
\echo '| sync commit | clients | farmreg | PL/pgSQL peer | client-side tx | floor (one CTE) | farmreg ÷ PL/pgSQL | farmreg ÷ client tx | farmreg ÷ floor |'
\echo '|---|--:|--:|--:|--:|--:|--:|--:|--:|'
SELECT format('| %s | %s | %s | %s | %s | %s | %s | %s | %s |', c.sync, c.clients,
              (SELECT format('%s (%s%%)', round(m.tps), round(100 * (m.hi - m.lo) / m.tps))
                 FROM med m WHERE (m.sync, m.clients, m.variant) = (c.sync, c.clients, 'farmreg')),
              (SELECT format('%s (%s%%)', round(m.tps), round(100 * (m.hi - m.lo) / m.tps))
                 FROM med m WHERE (m.sync, m.clients, m.variant) = (c.sync, c.clients, 'plpgsql')),
              (SELECT format('%s (%s%%)', round(m.tps), round(100 * (m.hi - m.lo) / m.tps))
                 FROM med m WHERE (m.sync, m.clients, m.variant) = (c.sync, c.clients, 'client_tx')),
              (SELECT format('%s (%s%%)', round(m.tps), round(100 * (m.hi - m.lo) / m.tps))
                 FROM med m WHERE (m.sync, m.clients, m.variant) = (c.sync, c.clients, 'floor')),
              (SELECT format('**%s** (%s–%s)', pg_temp.x2(r.ratio), pg_temp.r2(r.lo), pg_temp.r2(r.hi))
                 FROM ratio r WHERE (r.sync, r.clients, r.variant) = (c.sync, c.clients, 'plpgsql')),
              (SELECT format('**%s** (%s–%s)', pg_temp.x2(r.ratio), pg_temp.r2(r.lo), pg_temp.r2(r.hi))
                 FROM ratio r WHERE (r.sync, r.clients, r.variant) = (c.sync, c.clients, 'client_tx')),
              (SELECT format('**%s** (%s–%s)', pg_temp.x2(r.ratio), pg_temp.r2(r.lo), pg_temp.r2(r.hi))
                 FROM ratio r WHERE (r.sync, r.clients, r.variant) = (c.sync, c.clients, 'floor')))
  FROM (SELECT DISTINCT sync, clients FROM results.runs) AS c
 ORDER BY pg_temp.sync_order(c.sync), c.clients;

\echo
\echo '## CPU time per registration (µs: server (of which in the kernel) + pgbench)'
\echo
\echo 'Median over the rounds. Server: the backends'' CPU time, from the postmaster''s reaped-children'
\echo 'times; pgbench: the client''s own. Both share the same cores, so when the machine is'
\echo 'CPU-bound throughput is about cores / (server + pgbench).'
\echo
\echo '| sync commit | clients | farmreg | PL/pgSQL peer | client-side tx | floor (one CTE) |'
\echo '|---|--:|--:|--:|--:|--:|'
SELECT format('| %s | %s | %s | %s | %s | %s |', k.sync, k.clients,
              (SELECT format('%s (%s) + %s', round(c.server_us), round(c.server_sys_us), round(c.client_us)) FROM cpu c
                WHERE (c.sync, c.clients, c.variant) = (k.sync, k.clients, 'farmreg')),
              (SELECT format('%s (%s) + %s', round(c.server_us), round(c.server_sys_us), round(c.client_us)) FROM cpu c
                WHERE (c.sync, c.clients, c.variant) = (k.sync, k.clients, 'plpgsql')),
              (SELECT format('%s (%s) + %s', round(c.server_us), round(c.server_sys_us), round(c.client_us)) FROM cpu c
                WHERE (c.sync, c.clients, c.variant) = (k.sync, k.clients, 'client_tx')),
              (SELECT format('%s (%s) + %s', round(c.server_us), round(c.server_sys_us), round(c.client_us)) FROM cpu c
                WHERE (c.sync, c.clients, c.variant) = (k.sync, k.clients, 'floor')))
  FROM (SELECT DISTINCT sync, clients FROM results.runs) AS k
 ORDER BY pg_temp.sync_order(k.sync), k.clients;

\echo
\echo '## Server instructions per registration (callgrind)'
\echo
SELECT CASE WHEN count(*) = 0 THEN 'Not counted (BENCH_CALLGRIND=0).'
            ELSE format('valgrind --tool=callgrind over `postgres --single` on the same database, '
                        'the statements of bench/singleuser/ (the pgbench scripts, prepared): '
                        '(instructions for 50 + %s registrations − for 50) / %s. Exact and '
                        'repeatable; no protocol, no round trips, no waiting.', :cg_n, :cg_n) END
  FROM results.instructions;
\echo
\echo '| variant | instructions | of which argon2id | foreign-key checks | executor start-up | variant ÷ farmreg (farmreg''s advantage) |'
\echo '|---|--:|--:|--:|--:|--:|'
SELECT format('| %s | %s | %s | %s | %s | %s |', pg_temp.label(i.variant),
              to_char(i.total, 'FM999,999,999'),
              to_char((SELECT instructions FROM results.instructions x
                        WHERE x.variant = i.variant AND x.item = 'crypto_pwhash_argon2id_str'), 'FM999,999,999'),
              to_char((SELECT instructions FROM results.instructions x
                        WHERE x.variant = i.variant AND x.item = 'RI_FKey_check_ins'), 'FM999,999,999'),
              to_char((SELECT instructions FROM results.instructions x
                        WHERE x.variant = i.variant AND x.item = 'ExecutorStart'), 'FM999,999,999'),
              pg_temp.x2(i.total::float8 / f.total))
  FROM ins i JOIN ins f ON f.variant = 'farmreg'
 ORDER BY array_position(ARRAY['farmreg', 'plpgsql', 'client_tx', 'floor'], i.variant);
\echo
SELECT 'Where a farmreg registration''s instructions go:'
 WHERE EXISTS (SELECT FROM ins WHERE variant = 'farmreg');
\echo
WITH f AS (SELECT item, instructions AS n FROM results.instructions WHERE variant = 'farmreg'),
v AS (SELECT (SELECT n FROM f WHERE item = 'TOTAL') AS total,
             (SELECT n FROM f WHERE item = 'fmgr_security_definer') AS secdef,
             (SELECT n FROM f WHERE item = 'farmreg_register_farm_admin') AS fn,
             (SELECT n FROM f WHERE item = 'lookup') AS lookup,
             (SELECT n FROM f WHERE item = 'fr_run_steps') AS steps,
             (SELECT n FROM f WHERE item = 'fr_password_hash') AS hash,
             (SELECT n FROM f WHERE item = 'BeginInternalSubTransaction') +
             (SELECT n FROM f WHERE item = 'ReleaseCurrentSubTransaction') AS subxact),
rows(ord, what, n) AS (
    SELECT 1, 'the statement around the call (EXECUTE, portal, function scan, commit)', total - secdef FROM v
    UNION ALL SELECT 2, 'SECURITY DEFINER + SET search_path (fmgr_security_definer)', secdef - fn FROM v
    UNION ALL SELECT 3, 'the lookup query (lookup)', lookup FROM v
    UNION ALL SELECT 4, 'the three INSERTs (fr_run_steps, without the subtransaction)', steps - subxact FROM v
    UNION ALL SELECT 5, 'the subtransaction (BeginInternalSubTransaction + ReleaseCurrentSubTransaction)', subxact FROM v
    UNION ALL SELECT 6, 'argon2id, opslimit 1, memlimit 8 kB (fr_password_hash)', hash FROM v
    UNION ALL SELECT 7, 'everything else in farmreg (arguments, field rules, digest, SPI connect, result row)',
                     fn - lookup - steps - hash FROM v)
SELECT line FROM (
    SELECT 0 AS ord, '| part | instructions | share |' AS line WHERE (SELECT total FROM v) IS NOT NULL
    UNION ALL SELECT 0.5, '|---|--:|--:|' WHERE (SELECT total FROM v) IS NOT NULL
    UNION ALL
    SELECT ord, format('| %s | %s | %s%% |', what, to_char(n, 'FM999,999,999'),
                       round(100.0 * n / (SELECT total FROM v), 1))
      FROM rows WHERE n IS NOT NULL) AS t
 ORDER BY ord;

\echo
\echo '## Latency (ms per registration, main runs)'
\echo
\echo 'p50 / p99 of every transaction of every round of a configuration, from pgbench''s'
\echo 'per-transaction log (client side: includes the round trips).'
\echo
\echo '| sync commit | clients | farmreg | PL/pgSQL peer | client-side tx | floor (one CTE) |'
\echo '|---|--:|--:|--:|--:|--:|'
SELECT format('| %s | %s | %s | %s | %s | %s |', c.sync, c.clients,
              (SELECT format('%s / %s', pg_temp.ms(l.p50_ms), pg_temp.ms(l.p99_ms)) FROM results.latency l
                WHERE l.scope = 'main' AND (l.sync, l.clients, l.variant) = (c.sync, c.clients, 'farmreg')),
              (SELECT format('%s / %s', pg_temp.ms(l.p50_ms), pg_temp.ms(l.p99_ms)) FROM results.latency l
                WHERE l.scope = 'main' AND (l.sync, l.clients, l.variant) = (c.sync, c.clients, 'plpgsql')),
              (SELECT format('%s / %s', pg_temp.ms(l.p50_ms), pg_temp.ms(l.p99_ms)) FROM results.latency l
                WHERE l.scope = 'main' AND (l.sync, l.clients, l.variant) = (c.sync, c.clients, 'client_tx')),
              (SELECT format('%s / %s', pg_temp.ms(l.p50_ms), pg_temp.ms(l.p99_ms)) FROM results.latency l
                WHERE l.scope = 'main' AND (l.sync, l.clients, l.variant) = (c.sync, c.clients, 'floor')))
  FROM (SELECT DISTINCT sync, clients FROM results.runs) AS c
 ORDER BY pg_temp.sync_order(c.sync), c.clients;

\echo
\echo '## Default hashing costs: accepted against rejected (farmreg, 1 client, synchronous_commit on)'
\echo
SELECT format('%s runs of %s s each, interleaved. A rejected request must not pay for the hash.',
              :rounds, :default_seconds);
\echo
\echo '| request | registrations/s (median) | p50 ms | p99 ms | transactions measured | ÷ accepted |'
\echo '|---|--:|--:|--:|--:|--:|'
WITH d AS (
    SELECT variant, percentile_cont(0.5) WITHIN GROUP (ORDER BY tps) AS tps
      FROM results.default_cost GROUP BY variant)
SELECT format('| %s | %s | %s | %s | %s | %s |',
              CASE d.variant WHEN 'accepted' THEN 'accepted'
                             WHEN 'rejected_taken' THEN 'rejected: username taken (a lookup)'
                             WHEN 'rejected_format' THEN 'rejected: password too short (a field rule)' END,
              round(d.tps::numeric, 1), pg_temp.ms(l.p50_ms), pg_temp.ms(l.p99_ms), l.samples,
              pg_temp.x2(d.tps / a.tps))
  FROM d
  JOIN d AS a ON a.variant = 'accepted'
  LEFT JOIN results.latency l ON l.scope = 'default' AND l.variant = d.variant
 ORDER BY array_position(ARRAY['accepted', 'rejected_taken', 'rejected_format'], d.variant);

\echo
\echo '## Batch'
\echo
SELECT CASE WHEN :'batch_note' <> '' THEN format('**Not measured:** %s.', :'batch_note')
            ELSE format('%s requests in one `register_farm_admins` call against %s `register_farm_admin` calls in one transaction, sent two ways: one statement per call from psql over the unix socket (one round trip each, as the goal describes), and all in one statement (no round trips, the strongest form of single calls); cheap hashing, %s rounds.',
                        max(requests), max(requests), :batch_rounds) END
  FROM results.batch;
\echo
\echo '| | ms (median) | µs per registration | rounds | all registered |'
\echo '|---|--:|--:|--:|---|'
SELECT format('| %s | %s | %s | %s | %s |',
              CASE mode WHEN 'single' THEN 'single calls, all in one statement'
                        WHEN 'statements' THEN 'single calls, one statement each'
                        ELSE 'one batch call' END,
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric),
              round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) * 1000 / max(requests))::numeric, 1),
              count(*), CASE WHEN bool_and(ok = requests) THEN 'yes' ELSE 'NO' END)
  FROM results.batch GROUP BY mode
 ORDER BY CASE mode WHEN 'statements' THEN 1 WHEN 'single' THEN 2 ELSE 3 END;

\echo
\echo '## The hash on its own'
\echo
\echo '| argon2id | µs per hash (median of 3) | share of a farmreg registration |'
\echo '|---|--:|---|'
SELECT format('| opslimit %s, memlimit %s kB | %s | %s |', h.opslimit, h.memlimit_kb,
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY h.us)::numeric, 1),
              CASE WHEN h.opslimit = 1 THEN
                   (SELECT format('%s%% of farmreg''s %s µs per registration (1 client, sync off, median)',
                                  round((100 * percentile_cont(0.5) WITHIN GROUP (ORDER BY h.us)
                                         / (1e6 / m.tps))::numeric, 1),
                                  round((1e6 / m.tps)::numeric))
                      FROM med m WHERE (m.sync, m.clients, m.variant) = ('off', 1, 'farmreg'))
              ELSE
                   (SELECT format('an accepted registration''s p50 exceeds a rejected one''s (username taken) by %s ms',
                                  to_char(a.p50_ms - r.p50_ms, 'FM99990.0'))
                      FROM results.latency a, results.latency r
                     WHERE a.scope = 'default' AND a.variant = 'accepted'
                       AND r.scope = 'default' AND r.variant = 'rejected_taken')
              END)
  FROM results.hash h GROUP BY h.opslimit, h.memlimit_kb ORDER BY h.opslimit;

\echo
\echo '## Noise'
\echo
SELECT format('Other work shared the machine: the 1-minute load average at the start of a main run '
              'was %s to %s (median %s) on %s cores. The spread of a configuration''s rounds '
              '((max − min) / median) was %s%% at the median and %s%% at worst. Ratios are therefore '
              'only as good as their per-round range in brackets; the CPU times and the '
              'instruction counts above depend far less (or not at all) on load.',
              min(load1), max(load1), percentile_cont(0.5) WITHIN GROUP (ORDER BY load1), :nproc,
              (SELECT round(100 * percentile_cont(0.5) WITHIN GROUP (ORDER BY (hi - lo) / tps)) FROM med),
              (SELECT round(100 * max((hi - lo) / tps)) FROM med))
  FROM results.runs;
SELECT format('The PL/pgSQL peer gave the same answer as farmreg (ok, codes, copy, errors) on %s of %s check requests before the runs.',
              :peer_cases - :peer_bad, :peer_cases);

\echo
\echo 'What each variant does, why the comparison is fair, and where farmreg''s time goes: bench/README.md.'
