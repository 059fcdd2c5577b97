-- bench/report.sql -- the tables of results.md, from the results.* tables that
-- scripts/bench.sh loads from the CSV files.  Run with psql -At and the
-- variables bench.sh passes (-v nproc=... -v cpu=... ...).  A phase that did
-- not run leaves its table empty, and its rows say "not run".
\set ON_ERROR_STOP 1

-- load farmreg, so its settings (the default hashing costs) can be shown
SELECT farmreg.error_message('username_taken') IS NOT NULL AS loaded \gset

CREATE FUNCTION pg_temp.x2(float8) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT coalesce(to_char($1, 'FM9990.00') || '×', 'not run') $$;
CREATE FUNCTION pg_temp.r2(float8) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT to_char($1, 'FM9990.00') $$;
CREATE FUNCTION pg_temp.ms(float8) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN $1 IS NULL OR $1 = 'NaN' THEN '–'
                  WHEN $1 >= 100 THEN to_char($1, 'FM999990')
                  ELSE to_char($1, 'FM990.00') END $$;
CREATE FUNCTION pg_temp.n(numeric) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT to_char($1, 'FM999,999,999,990') $$;
CREATE FUNCTION pg_temp.verdict(boolean) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN $1 THEN 'met' WHEN NOT $1 THEN '**not met**' ELSE 'not run' END $$;
CREATE FUNCTION pg_temp.label(text) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE $1 WHEN 'farmreg' THEN 'farmreg'
                     WHEN 'plpgsql_simple' THEN 'simplest PL/pgSQL'
                     WHEN 'plpgsql' THEN 'fuller PL/pgSQL peer'
                     WHEN 'client_tx' THEN 'client-side tx'
                     WHEN 'floor' THEN 'floor (one CTE)'
                     WHEN 'floor_events' THEN 'floor + farmreg''s outbox event (reference)'
                     WHEN 'farmreg_nowake' THEN 'farmreg, no wakeups at all'
                     WHEN 'farmreg_notify11' THEN 'farmreg, NOTIFY per commit (as 1.1)'
                     ELSE $1 END $$;
CREATE FUNCTION pg_temp.sync_order(text) RETURNS int LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE $1 WHEN 'on' THEN 1 ELSE 2 END $$;
CREATE FUNCTION pg_temp.variant_order(text) RETURNS int LANGUAGE sql IMMUTABLE
AS $$ SELECT array_position(ARRAY['farmreg', 'plpgsql_simple', 'plpgsql', 'client_tx', 'floor',
                                  'floor_events', 'farmreg_nowake', 'farmreg_notify11'], $1) $$;

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

-- the netem runs: medians per variant over the link
CREATE TEMP VIEW netem AS
SELECT link, variant, count(*) AS n,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY tps) AS tps,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lat_avg_ms) AS lat_ms
  FROM results.netem GROUP BY link, variant;
CREATE TEMP VIEW netem_ratio AS
SELECT (SELECT tps FROM netem WHERE link = 'netem' AND variant = 'farmreg')
       / (SELECT tps FROM netem WHERE link = 'netem' AND variant = 'client_tx') AS ratio,
       (SELECT min(a.tps / b.tps) FROM results.netem a JOIN results.netem b USING (round, link)
         WHERE a.link = 'netem' AND a.variant = 'farmreg' AND b.variant = 'client_tx') AS lo,
       (SELECT max(a.tps / b.tps) FROM results.netem a JOIN results.netem b USING (round, link)
         WHERE a.link = 'netem' AND a.variant = 'farmreg' AND b.variant = 'client_tx') AS hi,
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY a.lat_avg_ms - b.lat_avg_ms)
          FROM results.netem a JOIN results.netem b USING (round)
         WHERE a.link = 'netem' AND a.variant = 'select1' AND b.link = 'tcp' AND b.variant = 'select1') AS rtt_ms;

-- the commit runs
CREATE TEMP VIEW cmed AS
SELECT variant, clients, count(*) AS n,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY tps) AS tps, min(tps) AS lo, max(tps) AS hi,
       sum(lock_samples) AS lock_samples, sum(lock_waiting_samples) AS lock_waiting_samples,
       sum(lock_waiters_sum) AS lock_waiters_sum, max(lock_waiters_max) AS lock_waiters_max,
       sum(probes) AS probes, sum(probes_missed) AS probes_missed,
       sum(notifications) AS notifications, sum(notifications_from_worker) AS from_worker,
       max(notify_per_s) AS notify_per_s_max,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY server_cpu_us) AS server_us
  FROM results.commit GROUP BY variant, clients;
CREATE TEMP VIEW cratio AS
SELECT p.variant, f.tps / p.tps AS ratio,
       (SELECT min(a.tps / b.tps) FROM results.commit a JOIN results.commit b USING (round)
         WHERE a.variant = 'farmreg' AND b.variant = p.variant) AS lo,
       (SELECT max(a.tps / b.tps) FROM results.commit a JOIN results.commit b USING (round)
         WHERE a.variant = 'farmreg' AND b.variant = p.variant) AS hi
  FROM cmed f JOIN cmed p USING (clients)
 WHERE f.variant = 'farmreg' AND p.variant <> 'farmreg';

-- key/value tables
CREATE TEMP VIEW storm AS SELECT key, value FROM results.storm;
CREATE FUNCTION pg_temp.st(text) RETURNS text LANGUAGE sql STABLE
AS $$ SELECT value FROM results.storm WHERE key = $1 $$;
CREATE FUNCTION pg_temp.stn(text) RETURNS float8 LANGUAGE sql STABLE
AS $$ SELECT nullif(value, 'nan')::float8 FROM results.storm WHERE key = $1 $$;
CREATE FUNCTION pg_temp.lg(text) RETURNS text LANGUAGE sql STABLE
AS $$ SELECT value FROM results.legacy WHERE item = $1 $$;
CREATE FUNCTION pg_temp.lgn(text) RETURNS float8 LANGUAGE sql STABLE
AS $$ SELECT value::float8 FROM results.legacy WHERE item = $1 $$;

-- brk / munmap / mmap per registration
CREATE TEMP VIEW sys AS
SELECT variant, calls, brk::float8 / calls AS brk, munmap::float8 / calls AS munmap,
       mmap::float8 / calls AS mmap, minflt::float8 / calls AS minflt
  FROM results.syscalls;

\echo '# farmreg benchmark results'
\echo
SELECT format('`make bench` on commit `%s`, started %s; the whole run took **%s min %s s** (%s; the report after them).',
              :'commit', :'started', :runtime / 60, :runtime % 60, :'phase_times');
\echo
\echo '## Machine and settings'
\echo
\echo '| | |'
\echo '|---|---|'
SELECT format('| CPU | %s × %s |', :nproc, :'cpu');
SELECT format('| memory | %s |', :'mem');
SELECT format('| PostgreSQL | %s |', split_part(version(), ' on ', 1));
SELECT format('| fsync / full_page_writes | %s / %s |', current_setting('fsync'), current_setting('full_page_writes'));
SELECT format('| synchronous_commit | per session, as each table says |');
SELECT format('| shared_buffers | %s |', current_setting('shared_buffers'));
SELECT format('| max_wal_size / checkpoint_timeout | %s / %s, and a CHECKPOINT before every run |',
              current_setting('max_wal_size'), current_setting('checkpoint_timeout'));
SELECT format('| data | %s fake USDA farms, %s farm admins registered before the runs; every run starts from exactly those (bench/seed.sql) |', :farms, :seed);
SELECT format('| hashing, main runs | argon2id opslimit 1, memlimit 8 kB for every variant |');
SELECT format('| hashing, default-cost runs | farmreg''s defaults: opslimit %s, memlimit %s |',
              current_setting('farmreg.password_opslimit'), current_setting('farmreg.password_memlimit'));
SELECT format('| hashing budget | farmreg.max_concurrent_hashes = %s (%s), farmreg.hash_wait = %s |',
              current_setting('farmreg.max_concurrent_hashes'), current_setting('farmreg.hash_budget_scope'),
              current_setting('farmreg.hash_wait'));
SELECT format('| pgbench | -M prepared, %s s per run, %s rounds, variants interleaved in every round; -j = min(clients, %s) |',
              :seconds, :rounds, :nproc);
SELECT format('| malloc | glibc''s defaults (no GLIBC_TUNABLES, no mallopt) |');
SELECT format('| load average (1/5/15 min) at start / at end | %s / %s |', :'load_start', :'load_end');

\echo
\echo '## Goals'
\echo
\echo 'Ratios are farmreg over the other (above 1 = farmreg is faster), medians of the rounds,'
\echo 'with the lowest and highest ratio of a single round in brackets (the variants of a round'
\echo 'ran back to back). Every goal is printed with its figure, met or not.'
\echo
\echo '| issue | goal | target | figure | verdict |'
\echo '|---|---|--:|---|---|'
-- issue 11: throughput against the simplest PL/pgSQL function and the floor,
-- at every main configuration with synchronous_commit off and 1 or 2 clients
WITH g(ord, goal, variant, target) AS (
    VALUES (1, 'throughput against the simplest PL/pgSQL function (sync off, 1 and 2 clients)', 'plpgsql_simple', 1.0),
           (2, 'throughput against the one-CTE floor (sync off, 1 and 2 clients)', 'floor', 0.85))
SELECT format('| 11 | %s | ≥ %s× | %s | %s |', g.goal, g.target,
              coalesce(string_agg(format('%s client%s: **%s** (%s–%s)', r.clients,
                                         CASE WHEN r.clients > 1 THEN 's' ELSE '' END,
                                         pg_temp.x2(r.ratio), pg_temp.r2(r.lo), pg_temp.r2(r.hi)),
                                  '; ' ORDER BY r.clients), 'not run'),
              pg_temp.verdict(bool_and(r.ratio >= g.target)))
  FROM g LEFT JOIN ratio r ON r.variant = g.variant AND r.sync = 'off' AND r.clients IN (1, 2)
 GROUP BY g.ord, g.goal, g.target ORDER BY g.ord;
SELECT format('| 11 | server instructions per registration: floor ÷ farmreg (callgrind) | ≥ 0.9 | **%s** (farmreg %s, floor %s; the floor with farmreg''s outbox event: %s, ÷ farmreg %s) | %s |',
              coalesce(pg_temp.r2(fl.total::float8 / f.total), 'not counted'),
              pg_temp.n(f.total), pg_temp.n(fl.total), pg_temp.n(fe.total),
              pg_temp.r2(fe.total::float8 / f.total),
              pg_temp.verdict(fl.total::float8 / f.total >= 0.9))
  FROM (SELECT 1) AS one
  LEFT JOIN ins f ON f.variant = 'farmreg' LEFT JOIN ins fl ON fl.variant = 'floor'
  LEFT JOIN ins fe ON fe.variant = 'floor_events';
SELECT format('| 11 | the client-side transaction over a link with a %s ms round trip, 1 client | ≥ 4× | **%s** (%s–%s); the link added %s ms per round trip (SELECT 1); on the unix socket: %s | %s |',
              trim_scale(round(:rtt_us / 1000.0, 3)), pg_temp.x2(n.ratio), pg_temp.r2(n.lo), pg_temp.r2(n.hi),
              to_char(n.rtt_ms, 'FM0.000'),
              coalesce((SELECT pg_temp.x2(r.ratio) FROM ratio r
                         WHERE r.variant = 'client_tx' AND r.sync = 'off' AND r.clients = 1), 'not run'),
              pg_temp.verdict(n.ratio >= 4))
  FROM netem_ratio n;
WITH b AS (
    SELECT mode, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms, max(requests) AS requests
      FROM results.batch WHERE ok = requests GROUP BY mode)
SELECT format('| 11 | one register_farm_admins call of %s requests against the same %s single calls in one transaction, one statement each | ≥ 3× | **%s** (%s ms against %s ms) | %s |',
              coalesce(bb.requests::text, :'batch_size'), coalesce(bb.requests::text, :'batch_size'),
              pg_temp.x2(st.ms / bb.ms), round(bb.ms::numeric), round(st.ms::numeric),
              CASE WHEN bb.ms IS NULL THEN 'not run' ELSE pg_temp.verdict(st.ms / bb.ms >= 3) END)
  FROM (SELECT 1) AS one
  LEFT JOIN b AS st ON st.mode = 'statements'
  LEFT JOIN b AS bb ON bb.mode = 'batch';
SELECT format('| 11 | brk + munmap per registration over %s single calls, minimum costs (strace) | < 0.01 | farmreg: brk **%s**, munmap **%s**; simplest PL/pgSQL: brk %s, munmap %s; fuller peer: brk %s, munmap %s; floor: brk %s, munmap %s | %s |',
              coalesce(f.calls::text, :'strace_n'),
              to_char(f.brk, 'FM0.0000'), to_char(f.munmap, 'FM0.0000'),
              to_char(s.brk, 'FM0.0000'), to_char(s.munmap, 'FM0.0000'),
              to_char(p.brk, 'FM0.0000'), to_char(p.munmap, 'FM0.0000'),
              to_char(fl.brk, 'FM0.0000'), to_char(fl.munmap, 'FM0.0000'),
              CASE WHEN f.variant IS NULL THEN 'not run'
                   WHEN f.brk + f.munmap < 0.01 THEN 'met'
                   WHEN f.brk + f.munmap - (s.brk + s.munmap) < 0.01
                   THEN format('**not met as written**: libsodium''s argon2 unmaps its memory after every hash, in every variant; what farmreg adds to it (farmreg − simplest peer): %s → met',
                               to_char(greatest(0, f.brk + f.munmap - s.brk - s.munmap), 'FM0.0000'))
                   ELSE format('**not met**: farmreg adds %s over the simplest peer',
                               to_char(f.brk + f.munmap - s.brk - s.munmap, 'FM0.0000')) END)
  FROM (SELECT 1) AS one
  LEFT JOIN sys f ON f.variant = 'farmreg' LEFT JOIN sys s ON s.variant = 'plpgsql_simple'
  LEFT JOIN sys p ON p.variant = 'plpgsql' LEFT JOIN sys fl ON fl.variant = 'floor';
-- issue 7's goals, kept for comparison
WITH g(ord, goal, variant, target) AS (
    VALUES (1, 'throughput against the fuller PL/pgSQL peer (sync off)', 'plpgsql', 1.0),
           (2, 'throughput against the client-side transaction on a unix socket (sync off)', 'client_tx', 2.5))
SELECT format('| 7 | %s | ≥ %s× | %s | %s |', g.goal, g.target,
              coalesce(string_agg(format('%s client%s: **%s** (%s–%s)', r.clients,
                                         CASE WHEN r.clients > 1 THEN 's' ELSE '' END,
                                         pg_temp.x2(r.ratio), pg_temp.r2(r.lo), pg_temp.r2(r.hi)),
                                  '; ' ORDER BY r.clients), 'not run'),
              pg_temp.verdict(bool_and(r.ratio >= g.target)))
  FROM g LEFT JOIN ratio r ON r.variant = g.variant AND r.sync = 'off'
 GROUP BY g.ord, g.goal, g.target ORDER BY g.ord;
-- issue 12
SELECT format('| 12 | throughput against farmreg with events but no wakeups at all (%s clients, sync on) | ≥ 0.95× | **%s** (%s–%s); as 1.1 (NOTIFY per commit): %s | %s |',
              :commit_clients, pg_temp.x2(n.ratio), pg_temp.r2(n.lo), pg_temp.r2(n.hi),
              coalesce((SELECT pg_temp.x2(o.ratio) FROM cratio o WHERE o.variant = 'farmreg_notify11'), 'not run'),
              pg_temp.verdict(n.ratio >= 0.95))
  FROM (SELECT 1) AS one LEFT JOIN cratio n ON n.variant = 'farmreg_nowake';
SELECT format('| 12 | waits on the NOTIFY lock during those runs (pg_locks, every 10 ms) | none | farmreg: %s of %s samples (max %s waiting); as 1.1: %s of %s (max %s) | %s |',
              f.lock_waiting_samples, f.lock_samples, f.lock_waiters_max,
              o.lock_waiting_samples, o.lock_samples, o.lock_waiters_max,
              pg_temp.verdict(f.lock_waiting_samples = 0))
  FROM (SELECT 1) AS one LEFT JOIN cmed f ON f.variant = 'farmreg'
  LEFT JOIN cmed o ON o.variant = 'farmreg_notify11';
SELECT format('| 12 | wakeup latency, an event''s commit to a LISTENing consumer seeing it, under that load | p99 ≤ 250 ms | p50 **%s ms**, p99 **%s ms** over %s probes, %s missed; as 1.1: p50 %s, p99 %s ms | %s |',
              pg_temp.ms(l.p50_ms), pg_temp.ms(l.p99_ms), f.probes, f.probes_missed,
              pg_temp.ms(o.p50_ms), pg_temp.ms(o.p99_ms),
              pg_temp.verdict(l.p99_ms <= 250 AND f.probes_missed = 0))
  FROM (SELECT 1) AS one
  LEFT JOIN results.latency l ON l.scope = 'wake' AND l.variant = 'farmreg'
  LEFT JOIN results.latency o ON o.scope = 'wake' AND o.variant = 'farmreg_notify11'
  LEFT JOIN cmed f ON f.variant = 'farmreg';
SELECT format('| 12 | notifications a consumer received per second (all from the wakeup worker) | about 10 at most | at most %s/s in a run; %s of %s from the worker; as 1.1: up to %s/s | %s |',
              f.notify_per_s_max, f.from_worker, f.notifications, o.notify_per_s_max,
              pg_temp.verdict(f.notify_per_s_max <= 11 AND f.from_worker = f.notifications))
  FROM (SELECT 1) AS one LEFT JOIN cmed f ON f.variant = 'farmreg'
  LEFT JOIN cmed o ON o.variant = 'farmreg_notify11';
SELECT format('| 12 | login storm (%s clients, wrong passwords, default cost, %s s): every registration of 2 clients answered | all answered | %s answered: %s%% registered, %s%% try_again_later, %s other; p50 %s ms, p99 %s ms, slowest %s ms | %s |',
              pg_temp.st('logins'), :storm_seconds,
              pg_temp.st('registrations'),
              round(100 * pg_temp.stn('reg_ok') / nullif(pg_temp.stn('registrations'), 0)),
              round(100 * pg_temp.stn('reg_try_again') / nullif(pg_temp.stn('registrations'), 0)),
              pg_temp.stn('reg_other') + pg_temp.stn('reg_error'),
              pg_temp.st('reg_p50_ms'), pg_temp.st('reg_p99_ms'), pg_temp.st('reg_max_ms'),
              pg_temp.verdict(pg_temp.stn('registrations') > 0
                              AND pg_temp.stn('reg_other') + pg_temp.stn('reg_error') = 0))
  WHERE EXISTS (SELECT FROM storm)
UNION ALL SELECT '| 12 | login storm | | not run | not run |' WHERE NOT EXISTS (SELECT FROM storm);
SELECT format('| 12 | login storm: a SELECT 1 from another session every 50 ms | p99 < 20 ms | p50 %s ms, p99 **%s ms**, slowest %s ms (%s queries) | %s |',
              pg_temp.st('ping_p50_ms'), pg_temp.st('ping_p99_ms'), pg_temp.st('ping_max_ms'), pg_temp.st('ping_n'),
              pg_temp.verdict(pg_temp.stn('ping_p99_ms') < 20))
  WHERE EXISTS (SELECT FROM storm);
SELECT format('| 12 | login storm: memory of the %s hashing backends above their usual size (sampled every 10 ms) | ≤ budget × memlimit = %s × %s MB | peak **%s MB** (the %s largest: %s MB, the other %s backends together: %s MB); at most %s backend%s holding a hash''s memory at once; each backend''s VmHWM − usual VmRSS: median %s MB, largest %s MB | %s |',
              pg_temp.stn('logins') + pg_temp.stn('registrars'),
              pg_temp.st('budget'), round((pg_temp.stn('memlimit_kb') / 1024)::numeric, 1),
              round((pg_temp.stn('mem_peak_excess_kb') / 1024)::numeric, 1), pg_temp.st('budget'),
              round((pg_temp.stn('mem_peak_top_kb') / 1024)::numeric, 1),
              pg_temp.stn('logins') + pg_temp.stn('registrars') - pg_temp.stn('budget'),
              round((pg_temp.stn('mem_peak_rest_kb') / 1024)::numeric, 1),
              pg_temp.st('mem_max_hashers'), CASE WHEN pg_temp.st('mem_max_hashers') = '1' THEN '' ELSE 's' END,
              round((pg_temp.stn('hwm_excess_median_kb') / 1024)::numeric, 1),
              round((pg_temp.stn('hwm_excess_max_kb') / 1024)::numeric, 1),
              pg_temp.verdict(pg_temp.stn('mem_max_hashers') <= pg_temp.stn('budget')
                              AND pg_temp.stn('mem_peak_top_kb') <= 1.05 * pg_temp.stn('budget') * pg_temp.stn('memlimit_kb')))
  WHERE EXISTS (SELECT FROM storm);
SELECT format('| 12 | login storm: every over-budget answer is the structured one | no other error | logins: %s × 53000 with a hint, %s × 53000 without, %s other errors, %s answered NULL (wrong password); registrations: %s × try_again_later at hash_password, %s other | %s |',
              pg_temp.st('login_busy'), pg_temp.st('login_busy_nohint'), pg_temp.st('login_other'),
              pg_temp.st('login_null'), pg_temp.st('reg_try_again'),
              pg_temp.stn('reg_other') + pg_temp.stn('reg_error'),
              pg_temp.verdict(pg_temp.stn('login_other') + pg_temp.stn('login_busy_nohint')
                              + pg_temp.stn('login_returned_id') + pg_temp.stn('reg_other')
                              + pg_temp.stn('reg_error') = 0))
  WHERE EXISTS (SELECT FROM storm);
-- issue 13
WITH c(ord, tag, what) AS (
    VALUES (1, 'defaults', 'at the defaults'),
           (2, 'opslimit4', 'after farmreg.password_opslimit = 4'),
           (3, 'm46t1', 'with memlimit 46MB, opslimit 1'),
           (4, 'legacy', 'with legacy (bcrypt) users present, against a bcrypt user'))
SELECT format('| 13 | no user enumeration: median time of an unknown login against a wrong password for a known user (%s each), %s | within 10%% | %s | %s |',
              coalesce(pg_temp.lg('enum_' || c.tag || '_n'), '50'), c.what,
              CASE WHEN pg_temp.lg('enum_' || c.tag || '_known_ms') IS NULL THEN
                        CASE WHEN c.tag = 'legacy' AND pg_temp.lg('supported') = '0'
                             THEN 'skipped: this farmreg takes no imported hashes' ELSE 'not run' END
                   ELSE format('unknown %s ms, known %s ms: **%s%%**', pg_temp.lg('enum_' || c.tag || '_unknown_ms'),
                               pg_temp.lg('enum_' || c.tag || '_known_ms'),
                               to_char(100 * (pg_temp.lgn('enum_' || c.tag || '_unknown_ms')
                                              / pg_temp.lgn('enum_' || c.tag || '_known_ms') - 1), 'FMSG990.0')) END,
              CASE WHEN pg_temp.lg('enum_' || c.tag || '_known_ms') IS NULL THEN
                        CASE WHEN c.tag = 'legacy' AND pg_temp.lg('supported') = '0'
                             THEN 'skipped (rerun with issue 13)' ELSE 'not run' END
                   ELSE pg_temp.verdict(abs(pg_temp.lgn('enum_' || c.tag || '_unknown_ms')
                                            / pg_temp.lgn('enum_' || c.tag || '_known_ms') - 1) <= 0.10) END)
  FROM c ORDER BY c.ord;

\echo
\echo '## Throughput (registrations per second)'
\echo
\echo 'Median over the rounds, and in brackets the spread of the rounds ((max − min) / median).'
\echo 'Ratios are farmreg''s median over the other''s, and in brackets the lowest and highest'
\echo 'ratio of a single round.'
\echo
\echo '| sync commit | clients | farmreg | simplest PL/pgSQL | fuller PL/pgSQL peer | client-side tx | floor (one CTE) | ÷ simplest | ÷ fuller | ÷ client tx | ÷ floor |'
\echo '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|'
SELECT format('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |', c.sync, c.clients,
              (SELECT format('%s (%s%%)', round(m.tps), round(100 * (m.hi - m.lo) / m.tps))
                 FROM med m WHERE (m.sync, m.clients, m.variant) = (c.sync, c.clients, 'farmreg')),
              (SELECT format('%s (%s%%)', round(m.tps), round(100 * (m.hi - m.lo) / m.tps))
                 FROM med m WHERE (m.sync, m.clients, m.variant) = (c.sync, c.clients, 'plpgsql_simple')),
              (SELECT format('%s (%s%%)', round(m.tps), round(100 * (m.hi - m.lo) / m.tps))
                 FROM med m WHERE (m.sync, m.clients, m.variant) = (c.sync, c.clients, 'plpgsql')),
              (SELECT format('%s (%s%%)', round(m.tps), round(100 * (m.hi - m.lo) / m.tps))
                 FROM med m WHERE (m.sync, m.clients, m.variant) = (c.sync, c.clients, 'client_tx')),
              (SELECT format('%s (%s%%)', round(m.tps), round(100 * (m.hi - m.lo) / m.tps))
                 FROM med m WHERE (m.sync, m.clients, m.variant) = (c.sync, c.clients, 'floor')),
              (SELECT format('**%s** (%s–%s)', pg_temp.x2(r.ratio), pg_temp.r2(r.lo), pg_temp.r2(r.hi))
                 FROM ratio r WHERE (r.sync, r.clients, r.variant) = (c.sync, c.clients, 'plpgsql_simple')),
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
\echo 'CPU-bound throughput is about cores / (server + pgbench). The last column is the CPU'
\echo 'ratio (the other''s total over farmreg''s), the throughput ratio to expect when CPU-bound.'
\echo
\echo '| sync commit | clients | farmreg | simplest PL/pgSQL | fuller PL/pgSQL peer | client-side tx | floor (one CTE) | CPU ratio: simplest / fuller / client tx / floor |'
\echo '|---|--:|--:|--:|--:|--:|--:|--:|'
SELECT format('| %s | %s | %s | %s | %s | %s | %s | %s |', k.sync, k.clients,
              (SELECT format('%s (%s) + %s', round(c.server_us), round(c.server_sys_us), round(c.client_us)) FROM cpu c
                WHERE (c.sync, c.clients, c.variant) = (k.sync, k.clients, 'farmreg')),
              (SELECT format('%s (%s) + %s', round(c.server_us), round(c.server_sys_us), round(c.client_us)) FROM cpu c
                WHERE (c.sync, c.clients, c.variant) = (k.sync, k.clients, 'plpgsql_simple')),
              (SELECT format('%s (%s) + %s', round(c.server_us), round(c.server_sys_us), round(c.client_us)) FROM cpu c
                WHERE (c.sync, c.clients, c.variant) = (k.sync, k.clients, 'plpgsql')),
              (SELECT format('%s (%s) + %s', round(c.server_us), round(c.server_sys_us), round(c.client_us)) FROM cpu c
                WHERE (c.sync, c.clients, c.variant) = (k.sync, k.clients, 'client_tx')),
              (SELECT format('%s (%s) + %s', round(c.server_us), round(c.server_sys_us), round(c.client_us)) FROM cpu c
                WHERE (c.sync, c.clients, c.variant) = (k.sync, k.clients, 'floor')),
              (SELECT string_agg(pg_temp.x2(r.ratio), ' / ' ORDER BY pg_temp.variant_order(r.variant))
                 FROM cpu_ratio r WHERE (r.sync, r.clients) = (k.sync, k.clients)))
  FROM (SELECT DISTINCT sync, clients FROM results.runs) AS k
 ORDER BY pg_temp.sync_order(k.sync), k.clients;

\echo
\echo '## Server instructions per registration (callgrind)'
\echo
SELECT CASE WHEN count(*) = 0 THEN 'Not counted (BENCH_CALLGRIND=0 or BENCH_PHASES).'
            ELSE format('valgrind --tool=callgrind over `postgres --single` on the same database, '
                        'the statements of bench/singleuser/ (the pgbench scripts, prepared): '
                        '(instructions for 50 + %s registrations − for 50) / %s. Exact and '
                        'repeatable; no protocol, no round trips, no waiting. In single-user mode '
                        'there are no background workers, so farmreg''s events trigger cannot wake '
                        'a wakeup worker and NOTIFYs in the registering transaction instead (its '
                        'fallback); the cost of that is in the breakdown below.', :cg_n, :cg_n) END
  FROM results.instructions;
\echo
\echo '| variant | instructions | of which argon2id | foreign-key checks | executor start-up | variant ÷ farmreg (farmreg''s advantage) |'
\echo '|---|--:|--:|--:|--:|--:|'
SELECT format('| %s | %s | %s | %s | %s | %s |', pg_temp.label(i.variant),
              pg_temp.n(i.total),
              pg_temp.n((SELECT instructions FROM results.instructions x
                          WHERE x.variant = i.variant AND x.item = 'crypto_pwhash_argon2id_str')),
              pg_temp.n((SELECT instructions FROM results.instructions x
                          WHERE x.variant = i.variant AND x.item = 'RI_FKey_check_ins')),
              pg_temp.n((SELECT instructions FROM results.instructions x
                          WHERE x.variant = i.variant AND x.item = 'ExecutorStart')),
              pg_temp.x2(i.total::float8 / f.total))
  FROM ins i JOIN ins f ON f.variant = 'farmreg'
 ORDER BY pg_temp.variant_order(i.variant);
\echo
SELECT 'Where a farmreg registration''s instructions go (inclusive counts of its functions; the parts overlap where one calls another):'
 WHERE EXISTS (SELECT FROM ins WHERE variant = 'farmreg');
\echo
SELECT line FROM (
    SELECT 0 AS ord, '| function | what | instructions | share |' AS line
     WHERE EXISTS (SELECT FROM ins WHERE variant = 'farmreg')
    UNION ALL SELECT 0.5, '|---|---|--:|--:|' WHERE EXISTS (SELECT FROM ins WHERE variant = 'farmreg')
    UNION ALL
    SELECT d.ord, format('| `%s` | %s | %s | %s%% |', d.item, d.what, pg_temp.n(x.instructions),
                         round(100.0 * x.instructions / t.total, 1))
      FROM (VALUES (1, 'fmgr_security_definer', 'the call with SECURITY DEFINER and SET search_path'),
                   (2, 'farmreg_register_farm_admin_1_1', 'farmreg''s entry point'),
                   (3, 'fr_judge', 'judging: field rules, the lookup, the database rules'),
                   (4, 'fr_batch_run', 'the registration as a batch of one (judging, hashing, writing)'),
                   (5, 'write_accepted', 'the set-based write of the chunk'),
                   (6, 'fr_run', 'the step runner''s statement (inside the write)'),
                   (7, 'SPI_execute_plan', 'every SPI statement'),
                   (8, 'BeginInternalSubTransaction', 'opening the subtransaction'),
                   (9, 'ReleaseCurrentSubTransaction', 'releasing it'),
                   (10, 'fr_password_hash', 'argon2id at opslimit 1, memlimit 8 kB'),
                   (11, 'fr_hashbudget_enter', 'a place in the hashing budget'),
                   (12, 'farmreg_notify_events', 'the events trigger'),
                   (13, 'PreCommit_Notify', 'the NOTIFY at commit (single-user fallback)'),
                   (14, 'RI_FKey_check_ins', 'foreign-key checks'),
                   (15, 'CommitTransactionCommand', 'commit')) AS d(ord, item, what)
      JOIN results.instructions x ON x.variant = 'farmreg' AND x.item = d.item
      JOIN ins t ON t.variant = 'farmreg') AS t
 ORDER BY ord;

\echo
\echo '## Latency (ms per registration, main runs)'
\echo
\echo 'p50 / p99 of every transaction of every round of a configuration, from pgbench''s'
\echo 'per-transaction log (client side: includes the round trips).'
\echo
\echo '| sync commit | clients | farmreg | simplest PL/pgSQL | fuller PL/pgSQL peer | client-side tx | floor (one CTE) |'
\echo '|---|--:|--:|--:|--:|--:|--:|'
SELECT format('| %s | %s | %s | %s | %s | %s | %s |', c.sync, c.clients,
              (SELECT format('%s / %s', pg_temp.ms(l.p50_ms), pg_temp.ms(l.p99_ms)) FROM results.latency l
                WHERE l.scope = 'main' AND (l.sync, l.clients, l.variant) = (c.sync, c.clients, 'farmreg')),
              (SELECT format('%s / %s', pg_temp.ms(l.p50_ms), pg_temp.ms(l.p99_ms)) FROM results.latency l
                WHERE l.scope = 'main' AND (l.sync, l.clients, l.variant) = (c.sync, c.clients, 'plpgsql_simple')),
              (SELECT format('%s / %s', pg_temp.ms(l.p50_ms), pg_temp.ms(l.p99_ms)) FROM results.latency l
                WHERE l.scope = 'main' AND (l.sync, l.clients, l.variant) = (c.sync, c.clients, 'plpgsql')),
              (SELECT format('%s / %s', pg_temp.ms(l.p50_ms), pg_temp.ms(l.p99_ms)) FROM results.latency l
                WHERE l.scope = 'main' AND (l.sync, l.clients, l.variant) = (c.sync, c.clients, 'client_tx')),
              (SELECT format('%s / %s', pg_temp.ms(l.p50_ms), pg_temp.ms(l.p99_ms)) FROM results.latency l
                WHERE l.scope = 'main' AND (l.sync, l.clients, l.variant) = (c.sync, c.clients, 'floor')))
  FROM (SELECT DISTINCT sync, clients FROM results.runs) AS c
 ORDER BY pg_temp.sync_order(c.sync), c.clients;

\echo
\echo '## Over a network: a link with a round trip (bench/netdelay), 1 client, synchronous_commit off'
\echo
SELECT CASE WHEN NOT EXISTS (SELECT FROM results.netem) THEN 'Not run.'
            ELSE format('pgbench connects over TCP to bench/netdelay, a loopback proxy that passes each direction''s '
                        'bytes on after a delay (%s–%s µs, calibrated at the start of every round so that a SELECT 1 '
                        'takes %s µs longer through it than straight to the server over TCP, and measured again '
                        'after the round: the median of those is below). The unix-socket figures are the main '
                        'runs'' at the same settings.',
                        (SELECT min(delay_us) FROM results.netem), (SELECT max(delay_us) FROM results.netem),
                        :rtt_us) END;
\echo
\echo '| | farmreg | client-side tx | farmreg ÷ client tx |'
\echo '|---|--:|--:|--:|'
SELECT format('| over the link: registrations/s (median of %s rounds) | %s | %s | **%s** (%s–%s) |',
              f.n, round(f.tps), round(c.tps), pg_temp.x2(r.ratio), pg_temp.r2(r.lo), pg_temp.r2(r.hi))
  FROM netem f, netem c, netem_ratio r
 WHERE f.link = 'netem' AND f.variant = 'farmreg' AND c.link = 'netem' AND c.variant = 'client_tx';
SELECT format('| over the link: latency p50 / p99, ms | %s / %s | %s / %s | |',
              pg_temp.ms(f.p50_ms), pg_temp.ms(f.p99_ms), pg_temp.ms(c.p50_ms), pg_temp.ms(c.p99_ms))
  FROM results.latency f, results.latency c
 WHERE f.scope = 'netem' AND f.variant = 'farmreg' AND c.scope = 'netem' AND c.variant = 'client_tx';
SELECT format('| on the unix socket: registrations/s (main runs, 1 client) | %s | %s | %s |',
              round(f.tps), round(c.tps), pg_temp.x2(f.tps / c.tps))
  FROM med f, med c
 WHERE (f.sync, f.clients, f.variant) = ('off', 1, 'farmreg') AND (c.sync, c.clients, c.variant) = ('off', 1, 'client_tx');
SELECT format('| SELECT 1 through the link / straight over TCP, ms (median of the rounds) | %s / %s | | +%s ms a round trip |',
              to_char(a.lat_ms, 'FM0.000'), to_char(b.lat_ms, 'FM0.000'), to_char(r.rtt_ms, 'FM0.000'))
  FROM netem a, netem b, netem_ratio r
 WHERE a.link = 'netem' AND a.variant = 'select1' AND b.link = 'tcp' AND b.variant = 'select1';

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
\echo '## System calls and page faults per registration (strace -c, one backend)'
\echo
SELECT CASE WHEN NOT EXISTS (SELECT FROM results.syscalls) THEN 'Not run.'
            ELSE format('One session per variant: 200 registrations to warm up, then `strace -c -f -p <backend>` over %s more, '
                        'single prepared calls, libsodium''s minimum costs, glibc''s default malloc settings. '
                        'libsodium''s argon2 maps its working memory with mmap and unmaps it with munmap on every '
                        'computation, whoever calls it: every variant pays about one of each per registration for the '
                        'hash alone. What farmreg''s own allocations add is its difference from the PL/pgSQL functions.',
                        max(calls)) END
  FROM results.syscalls;
\echo
\echo '| variant | brk | munmap | mmap | minor page faults |'
\echo '|---|--:|--:|--:|--:|'
SELECT format('| %s | %s | %s | %s | %s |', pg_temp.label(variant), to_char(brk, 'FM0.0000'),
              to_char(munmap, 'FM0.0000'), to_char(mmap, 'FM0.0000'), to_char(minflt, 'FM990.00'))
  FROM sys ORDER BY pg_temp.variant_order(variant);

\echo
\echo '## Commits under load: wakeups and the NOTIFY lock'
\echo
SELECT CASE WHEN NOT EXISTS (SELECT FROM results.commit) THEN 'Not run.'
            ELSE format('%s clients, synchronous_commit on, cheap hashing, %s s per run, %s rounds, the three '
                        'variants interleaved: farmreg as it is (its events trigger wakes the database''s wakeup '
                        'worker, which notifies at most about ten times a second); farmreg with the trigger '
                        'disabled (events appended, nobody woken: consumers would have to poll); and farmreg 1.1''s '
                        'behaviour, a plain statement-level trigger calling pg_notify in every registering '
                        'transaction. Beside each run bench/commit_probe.py samples pg_locks every 10 ms for backends '
                        'waiting on the lock a committing NOTIFY takes (object 0 of pg_database), registers a probe '
                        'every 100 ms and LISTENs: the wakeup latency runs from the probe''s commit returning to the '
                        'listener seeing its rows after a notification.', :commit_clients, :commit_seconds, :rounds) END;
\echo
\echo '| variant | registrations/s (median; range) | ÷ no wakeups | server CPU µs / registration | NOTIFY lock: samples with waiters / samples (max waiting) | notifications received (from the worker) | wakeup p50 / p99 ms (probes, missed) |'
\echo '|---|--:|--:|--:|--:|--:|--:|'
SELECT format('| %s | %s (%s–%s) | %s | %s | %s / %s (%s) | %s (%s) | %s |', pg_temp.label(m.variant),
              round(m.tps), round(m.lo), round(m.hi),
              (SELECT pg_temp.x2(m.tps / b.tps) FROM cmed b WHERE b.variant = 'farmreg_nowake'),
              round(m.server_us), m.lock_waiting_samples, m.lock_samples, m.lock_waiters_max,
              m.notifications, m.from_worker,
              CASE WHEN m.notifications = 0 THEN format('no wakeups (%s probes)', m.probes)
                   ELSE format('%s / %s (%s, %s)', pg_temp.ms(l.p50_ms), pg_temp.ms(l.p99_ms), m.probes, m.probes_missed) END)
  FROM cmed m LEFT JOIN results.latency l ON l.scope = 'wake' AND l.variant = m.variant
 ORDER BY pg_temp.variant_order(m.variant);

\echo
\echo '## Login storm (default hashing costs)'
\echo
SELECT CASE WHEN NOT EXISTS (SELECT FROM storm) THEN 'Not run.'
            ELSE format('%s sessions call verify_password with a wrong password for one of 8 users registered at the '
                        'default costs (opslimit %s, memlimit %s kB), in a loop, for %s s, while 2 sessions register '
                        'new users (default costs too) and one runs SELECT 1 every 50 ms. Budget: %s place%s (%s), '
                        'hash_wait %s. Each hashing session verified one wrong password alone first, so its backend '
                        'had loaded farmreg; its anonymous memory then is its usual size. Load average at the start: %s.',
                        pg_temp.st('logins'), pg_temp.st('opslimit'), pg_temp.st('memlimit_kb'),
                        :storm_seconds, pg_temp.st('budget'),
                        CASE WHEN pg_temp.st('budget') = '1' THEN '' ELSE 's' END, pg_temp.st('scope'),
                        pg_temp.st('hash_wait'), pg_temp.st('load1')) END;
\echo
SELECT line FROM (
    SELECT 1 AS ord, '| | answers | p50 ms | p99 ms |' AS line
    UNION ALL SELECT 2, '|---|---|--:|--:|'
    UNION ALL SELECT 3, format('| logins | %s wrong password (NULL), %s busy (53000), %s other; %s hashes a second completed in all, with the budget''s places held in %s%% of the samples | %s | %s |',
                               pg_temp.st('login_null'), pg_temp.st('login_busy'),
                               pg_temp.stn('login_other') + pg_temp.stn('login_busy_nohint') + pg_temp.stn('login_returned_id'),
                               pg_temp.st('hashes_per_s'), pg_temp.st('slots_busy_pct'),
                               pg_temp.st('login_p50_ms'), pg_temp.st('login_p99_ms'))
    UNION ALL SELECT 4, format('| registrations | %s registered, %s try_again_later, %s other | %s | %s |',
                               pg_temp.st('reg_ok'), pg_temp.st('reg_try_again'),
                               pg_temp.stn('reg_other') + pg_temp.stn('reg_error'),
                               pg_temp.st('reg_p50_ms'), pg_temp.st('reg_p99_ms'))
    UNION ALL SELECT 5, format('| SELECT 1 from another session | %s | %s | %s |',
                               pg_temp.st('ping_n'), pg_temp.st('ping_p50_ms'), pg_temp.st('ping_p99_ms'))) AS t
 WHERE EXISTS (SELECT FROM storm)
 ORDER BY ord;

\echo
\echo '## Default hashing costs: accepted against rejected (farmreg, 1 client, synchronous_commit on)'
\echo
SELECT CASE WHEN count(*) = 0 THEN 'Not run.'
            ELSE format('%s runs of %s s each, interleaved. A rejected request must not pay for the hash.',
                        max(round), :default_seconds) END
  FROM results.default_cost;
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
\echo '## Imported password hashes and logins (default costs)'
\echo
SELECT CASE WHEN NOT EXISTS (SELECT FROM results.legacy) THEN 'Not run.'
            WHEN pg_temp.lg('supported') = '0' THEN format('**Skipped in part:** %s.', pg_temp.lg('note'))
            ELSE format('%s users imported in one `register_farm_admins` call with bcrypt hashes (cost %s, made by '
                        'Debian''s python3-bcrypt at set-up, %s ms each there; %s different hashes dealt round-robin, '
                        'since the import only checks a hash''s form), against the same %s users with the same '
                        'passwords in plaintext, hashed at the default costs. Then 50 of the bcrypt users log in '
                        'twice: the first login verifies bcrypt and stores an argon2id hash, the later one verifies '
                        'that.', pg_temp.lg('users'), pg_temp.lg('bcrypt_cost'), pg_temp.lg('bcrypt_python_ms'),
                        pg_temp.lg('bcrypt_distinct'), pg_temp.lg('users')) END;
\echo
SELECT line FROM (
    SELECT 1 AS ord, '| | figure |' AS line
    UNION ALL SELECT 2, '|---|--:|'
    UNION ALL SELECT 3, format('| import with bcrypt hashes: %s users | %s ms (%s µs a user; %s registered) |',
                               pg_temp.lg('users'), pg_temp.lg('import_bcrypt_ms'),
                               round((1000 * pg_temp.lgn('import_bcrypt_ms') / pg_temp.lgn('users'))::numeric, 1),
                               pg_temp.lg('import_bcrypt_ok'))
                       WHERE pg_temp.lg('import_bcrypt_ms') IS NOT NULL
    UNION ALL SELECT 4, format('| import with plaintext passwords, default costs: %s users | %s ms (%s µs a user; %s registered) |',
                               pg_temp.lg('users'), pg_temp.lg('import_plain_ms'),
                               round((1000 * pg_temp.lgn('import_plain_ms') / pg_temp.lgn('users'))::numeric, 1),
                               pg_temp.lg('import_plain_ok'))
                       WHERE pg_temp.lg('import_plain_ms') IS NOT NULL
    UNION ALL SELECT 5, format('| plaintext ÷ bcrypt import time | %s |',
                               pg_temp.x2(pg_temp.lgn('import_plain_ms') / pg_temp.lgn('import_bcrypt_ms')))
                       WHERE pg_temp.lg('import_bcrypt_ms') IS NOT NULL
    UNION ALL SELECT 6, format('| first login of a bcrypt user (upgrading), median of %s | %s ms |',
                               pg_temp.lg('login_n'), pg_temp.lg('login_first_p50_ms'))
                       WHERE pg_temp.lg('login_first_p50_ms') IS NOT NULL
    UNION ALL SELECT 7, format('| a later login of the same user (argon2id), median | %s ms (first ÷ later: %s) |',
                               pg_temp.lg('login_later_p50_ms'),
                               pg_temp.x2(pg_temp.lgn('login_first_p50_ms') / pg_temp.lgn('login_later_p50_ms')))
                       WHERE pg_temp.lg('login_later_p50_ms') IS NOT NULL
    UNION ALL SELECT 8, format('| checks: both logins returned the user / hash then argon2id at the current costs / a wrong password left a bcrypt hash as it was / the import stored the hashes as given | %s of %s / %s of %s (%s not at the current costs) / %s / %s |',
                               pg_temp.lg('login_both_ok'), pg_temp.lg('login_n'), pg_temp.lg('login_upgraded'),
                               pg_temp.lg('login_n'), pg_temp.lg('login_upgraded_not_current'),
                               CASE pg_temp.lg('wrong_password_left_hash') WHEN '1' THEN 'yes' ELSE 'NO' END,
                               CASE pg_temp.lg('import_bcrypt_stored_as_given') WHEN '1' THEN 'yes' ELSE 'NO' END)
                       WHERE pg_temp.lg('login_n') IS NOT NULL) AS t
 WHERE EXISTS (SELECT FROM results.legacy WHERE item LIKE 'import%')
 ORDER BY ord;
\echo
SELECT 'No user enumeration: medians of 50 wrong passwords for known users and of 50 unknown logins, interleaved, each configuration after two calls of each kind not counted.'
 WHERE EXISTS (SELECT FROM results.legacy WHERE item LIKE 'enum%');
\echo
SELECT line FROM (
    SELECT 0 AS ord, '| configuration | known user, wrong password (ms) | unknown login (ms) | unknown ÷ known |' AS line
    UNION ALL SELECT 0.5, '|---|--:|--:|--:|'
    UNION ALL
    SELECT c.ord, format('| %s | %s | %s | %s |', c.what, pg_temp.lg('enum_' || c.tag || '_known_ms'),
                         pg_temp.lg('enum_' || c.tag || '_unknown_ms'),
                         pg_temp.r2(pg_temp.lgn('enum_' || c.tag || '_unknown_ms') / pg_temp.lgn('enum_' || c.tag || '_known_ms')))
      FROM (VALUES (1, 'defaults', 'users hashed at the defaults, settings at the defaults'),
                   (2, 'opslimit4', 'the same users, after farmreg.password_opslimit = 4'),
                   (3, 'm46t1', 'the same users, with memlimit 46MB and opslimit 1'),
                   (4, 'legacy', 'bcrypt users (cost 10) present; known: a bcrypt user'),
                   (5, 'legacy_upgraded', 'bcrypt users present; known: a user upgraded to argon2id (reference)')) AS c(ord, tag, what)
     WHERE pg_temp.lg('enum_' || c.tag || '_known_ms') IS NOT NULL) AS t
 WHERE EXISTS (SELECT FROM results.legacy WHERE item LIKE 'enum%')
 ORDER BY ord;

\echo
\echo '## The hash on its own'
\echo
\echo '| argon2id | µs per hash (median of 3) | share of a farmreg registration |'
\echo '|---|--:|---|'
SELECT format('| opslimit %s, memlimit %s kB | %s | %s |', h.opslimit, h.memlimit_kb,
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY h.us)::numeric, 1),
              CASE WHEN h.opslimit = 1 THEN
                   coalesce((SELECT format('%s%% of farmreg''s %s µs per registration (1 client, sync off, median)',
                                  round((100 * percentile_cont(0.5) WITHIN GROUP (ORDER BY h.us)
                                         / (1e6 / m.tps))::numeric, 1),
                                  round((1e6 / m.tps)::numeric))
                      FROM med m WHERE (m.sync, m.clients, m.variant) = ('off', 1, 'farmreg')), '')
              ELSE
                   coalesce((SELECT format('an accepted registration''s p50 exceeds a rejected one''s (username taken) by %s ms',
                                  to_char(a.p50_ms - r.p50_ms, 'FM99990.0'))
                      FROM results.latency a, results.latency r
                     WHERE a.scope = 'default' AND a.variant = 'accepted'
                       AND r.scope = 'default' AND r.variant = 'rejected_taken'), '')
              END)
  FROM results.hash h GROUP BY h.opslimit, h.memlimit_kb ORDER BY h.opslimit;

\echo
\echo '## Noise'
\echo
SELECT format('Other work shared the machine. During the main runs, the share of the machine''s CPU time '
              'that went neither to the server nor to pgbench (/proc/stat against their own times: other '
              'people''s work) was %s%% at the median and %s%% at worst; the 1-minute load average at the '
              'start of a main run was %s to %s (median %s) on %s cores (it counts the benchmark''s own '
              'clients and backends too). The spread of a configuration''s rounds ((max − min) / median) '
              'was %s%% at the median and %s%% at worst. Ratios are therefore only as good as their '
              'per-round range in brackets; the CPU times and the instruction counts above depend far '
              'less (or not at all) on load.',
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY other_cpu_pct)::numeric),
              round(max(other_cpu_pct)::numeric),
              min(load1), max(load1), percentile_cont(0.5) WITHIN GROUP (ORDER BY load1), :nproc,
              (SELECT round(100 * percentile_cont(0.5) WITHIN GROUP (ORDER BY (hi - lo) / tps)) FROM med),
              (SELECT round(100 * max((hi - lo) / tps)) FROM med))
  FROM results.runs
 WHERE EXISTS (SELECT FROM results.runs);
SELECT format('During the commit runs other work took %s%% of the machine''s CPU time at the median, %s%% at worst '
              '(bench/commit_probe.py''s own Python process counts as other work there; its sessions'' backends as the server''s).',
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY other_cpu_pct)::numeric),
              round(max(other_cpu_pct)::numeric))
  FROM results.commit WHERE EXISTS (SELECT FROM results.commit);
WITH l(phase, load1) AS (
    SELECT 'main', load1 FROM results.runs
    UNION ALL SELECT 'netem', load1 FROM results.netem
    UNION ALL SELECT 'commit', load1 FROM results.commit
    UNION ALL SELECT 'default', load1 FROM results.default_cost
    UNION ALL SELECT 'storm', value::float8 FROM results.storm WHERE key = 'load1')
SELECT 'The 1-minute load average at the start of each run, by phase (minimum–maximum, median): '
       || string_agg(format('%s %s–%s (%s)', phase, lo, hi, md), '; ' ORDER BY ord) || '.'
  FROM (SELECT phase, min(load1) AS lo, max(load1) AS hi,
               round(percentile_cont(0.5) WITHIN GROUP (ORDER BY load1)::numeric, 2) AS md,
               array_position(ARRAY['main', 'netem', 'commit', 'storm', 'default'], phase) AS ord
          FROM l GROUP BY phase) AS p
HAVING count(*) > 0;
SELECT format('The fuller PL/pgSQL peer gave the same answer as farmreg (ok, codes, copy, errors) on %s of %s check requests before the runs; the simplest one answered as intended (its own checks, and farmreg''s codes and copy) on %s of %s.',
              :peer_cases - :peer_bad, :peer_cases, :simple_cases - :simple_bad, :simple_cases);

\echo
\echo 'What each variant does, why the comparison is fair, and where farmreg''s time goes: bench/README.md.'
