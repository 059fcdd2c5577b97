-- test/outbox.sql -- pgTAP: the objects version 1.1 adds (batch registration,
-- the outbox, compensation): tables, columns, keys, the notify trigger,
-- pg_dump registration, function properties and privileges.
--
-- Run with: pg_prove -d farmreg_tap test/*.sql
-- Everything happens in one transaction that is rolled back.

\unset ECHO
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true

BEGIN;
SET LOCAL client_min_messages = warning;

SELECT plan(48);

--
-- Tables
--
SELECT has_table('farmreg', 'events', 'table farmreg.events exists');
-- the contract's columns first, in its order; the delivery bookkeeping after
SELECT columns_are('farmreg', 'events',
    ARRAY['id', 'type', 'user_id', 'payload', 'created_at', 'txid', 'pos'],
    'farmreg.events has the contract''s columns, then txid and pos');
SELECT is((SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute
            WHERE attrelid = 'farmreg.events'::regclass AND attnum > 0 AND NOT attisdropped),
          ARRAY['id', 'type', 'user_id', 'payload', 'created_at', 'txid', 'pos'],
          'farmreg.events columns are in that order');
SELECT col_type_is('farmreg', 'events', 'id', 'bigint', 'events.id is bigint');
SELECT col_type_is('farmreg', 'events', 'type', 'text', 'events.type is text');
SELECT col_type_is('farmreg', 'events', 'user_id', 'bigint', 'events.user_id is bigint');
SELECT col_type_is('farmreg', 'events', 'payload', 'jsonb', 'events.payload is jsonb');
SELECT col_type_is('farmreg', 'events', 'created_at', 'timestamp with time zone',
                   'events.created_at is timestamptz');
SELECT col_type_is('farmreg', 'events', 'txid', 'xid8', 'events.txid is xid8');
SELECT col_type_is('farmreg', 'events', 'pos', 'bigint', 'events.pos is bigint');
SELECT col_is_pk('farmreg', 'events', 'id', 'events.id is the primary key');
SELECT col_is_unique('farmreg', 'events', 'pos', 'a delivery position is given once');
SELECT has_index('farmreg', 'events', 'events_unpositioned_idx',
                 'events waiting for a position are indexed');
SELECT ok((SELECT pg_get_expr(indpred, indrelid) FROM pg_index
            WHERE indexrelid = 'farmreg.events_unpositioned_idx'::regclass) = '(pos IS NULL)',
          'events_unpositioned_idx is partial: only events without a position');
SELECT has_trigger('farmreg', 'events', 'events_notify',
                   'events_notify fires NOTIFY farmreg_events');
SELECT ok((SELECT tgtype & 1 = 0 FROM pg_trigger
            WHERE tgrelid = 'farmreg.events'::regclass AND tgname = 'events_notify'),
          'events_notify is a statement-level trigger (one notification per statement)');

SELECT has_table('farmreg', 'event_consumers', 'table farmreg.event_consumers exists');
SELECT columns_are('farmreg', 'event_consumers', ARRAY['consumer', 'acked_pos', 'acked_at', 'polled_pos'],
                   'event_consumers has consumer, acked_pos, acked_at, polled_pos');
SELECT col_is_pk('farmreg', 'event_consumers', 'consumer', 'a consumer is its name');
SELECT col_not_null('farmreg', 'event_consumers', 'acked_pos', 'acked_pos is never NULL');

-- pg_dump keeps the outbox and the consumers' positions
SELECT ok((SELECT 'farmreg.events'::regclass = ANY (extconfig) FROM pg_extension
            WHERE extname = 'farmreg'), 'events are dumped by pg_dump');
SELECT ok((SELECT 'farmreg.events_id_seq'::regclass = ANY (extconfig) FROM pg_extension
            WHERE extname = 'farmreg'), 'the events id sequence position is dumped');
SELECT ok((SELECT 'farmreg.event_consumers'::regclass = ANY (extconfig) FROM pg_extension
            WHERE extname = 'farmreg'), 'consumer positions are dumped');

-- PUBLIC has nothing on them
SELECT ok(NOT EXISTS (SELECT FROM pg_class c, aclexplode(c.relacl) a
                       WHERE c.oid IN ('farmreg.events'::regclass, 'farmreg.event_consumers'::regclass,
                                       'farmreg.events_id_seq'::regclass)
                         AND a.grantee = 0),
          'PUBLIC has no privilege on events, event_consumers or their sequence');

--
-- Functions
--
SELECT function_lang_is('farmreg', 'register_farm_admins', ARRAY['jsonb', 'text'], 'c',
                        'register_farm_admins is LANGUAGE c');
SELECT is_definer('farmreg', 'register_farm_admins', ARRAY['jsonb', 'text'],
                  'register_farm_admins is SECURITY DEFINER');
SELECT isnt_strict('farmreg', 'register_farm_admins', ARRAY['jsonb', 'text'],
                   'register_farm_admins is not STRICT (locale may be NULL)');
SELECT is((SELECT pronargdefaults::int FROM pg_proc
            WHERE oid = 'farmreg.register_farm_admins(jsonb, text)'::regprocedure), 1,
          'register_farm_admins: locale has a default');
SELECT is((SELECT array_to_string(proargnames, ',') FROM pg_proc
            WHERE oid = 'farmreg.register_farm_admins(jsonb, text)'::regprocedure),
          'requests,locale,ordinal,ok,user_id,farm_id,farmer_id,error_code,failed_step,message,errors',
          'register_farm_admins: arguments and result columns as the contract names them');
SELECT is((SELECT prosrc FROM pg_proc
            WHERE oid = 'farmreg.register_farm_admin(text, text, text, text, text, text, text)'::regprocedure),
          'farmreg_register_farm_admin_1_1',
          'register_farm_admin appends events (the 1.1 entry point)');

SELECT function_lang_is('farmreg', 'deregister_farm_admin', ARRAY['bigint', 'text'], 'c',
                        'deregister_farm_admin is LANGUAGE c');
SELECT is_definer('farmreg', 'deregister_farm_admin', ARRAY['bigint', 'text'],
                  'deregister_farm_admin is SECURITY DEFINER');
SELECT function_returns('farmreg', 'deregister_farm_admin', ARRAY['bigint', 'text'], 'boolean',
                        'deregister_farm_admin returns boolean');

SELECT function_returns('farmreg', 'poll_events', ARRAY['text', 'integer'], 'setof farmreg.events',
                        'poll_events returns SETOF farmreg.events');
SELECT is_definer('farmreg', 'poll_events', ARRAY['text', 'integer'],
                  'poll_events is SECURITY DEFINER');
SELECT is((SELECT pronargdefaults::int FROM pg_proc
            WHERE oid = 'farmreg.poll_events(text, integer)'::regprocedure), 1,
          'poll_events: max_events has a default');
SELECT is((SELECT pg_get_function_arguments('farmreg.poll_events(text, integer)'::regprocedure)),
          'consumer text, max_events integer DEFAULT 100', 'poll_events(consumer, max_events DEFAULT 100)');
SELECT function_returns('farmreg', 'ack_events', ARRAY['text', 'bigint'], 'boolean',
                        'ack_events returns boolean');
SELECT is_definer('farmreg', 'ack_events', ARRAY['text', 'bigint'],
                  'ack_events is SECURITY DEFINER');
SELECT is((SELECT pg_get_function_arguments('farmreg.ack_events(text, bigint)'::regprocedure)),
          'consumer text, last_event_id bigint', 'ack_events(consumer, last_event_id)');

-- every new function pins search_path and is closed to PUBLIC
SELECT ok(bool_and(EXISTS (SELECT FROM unnest(p.proconfig) AS c
                            WHERE c = 'search_path=pg_catalog, pg_temp')),
          'the 1.1 functions pin search_path = pg_catalog, pg_temp')
  FROM pg_proc AS p
 WHERE p.oid IN ('farmreg.register_farm_admins(jsonb, text)'::regprocedure,
                 'farmreg.deregister_farm_admin(bigint, text)'::regprocedure,
                 'farmreg.poll_events(text, integer)'::regprocedure,
                 'farmreg.ack_events(text, bigint)'::regprocedure,
                 'farmreg.notify_events()'::regprocedure);
CREATE ROLE farmreg_tap_nobody NOLOGIN;
SELECT ok(NOT has_function_privilege('farmreg_tap_nobody', 'farmreg.register_farm_admins(jsonb, text)', 'EXECUTE'),
          'PUBLIC cannot run register_farm_admins');
SELECT ok(NOT has_function_privilege('farmreg_tap_nobody', 'farmreg.deregister_farm_admin(bigint, text)', 'EXECUTE'),
          'PUBLIC cannot run deregister_farm_admin');
SELECT ok(NOT has_function_privilege('farmreg_tap_nobody', 'farmreg.poll_events(text, integer)', 'EXECUTE'),
          'PUBLIC cannot run poll_events');
SELECT ok(NOT has_function_privilege('farmreg_tap_nobody', 'farmreg.ack_events(text, bigint)', 'EXECUTE'),
          'PUBLIC cannot run ack_events');

-- a consumer role with the grants the README shows can consume, and only that
CREATE ROLE farmreg_tap_sync NOLOGIN;
GRANT EXECUTE ON FUNCTION farmreg.poll_events(text, integer), farmreg.ack_events(text, bigint),
                          farmreg.deregister_farm_admin(bigint, text) TO farmreg_tap_sync;
SET LOCAL ROLE farmreg_tap_sync;
SELECT lives_ok($$SELECT count(*) FROM farmreg.poll_events('tap-consumer')$$,
                'a granted consumer polls through the function');
SELECT throws_ok($$SELECT count(*) FROM farmreg.events$$, '42501', NULL,
                 'but cannot read the events table directly');
RESET ROLE;
SELECT ok(NOT has_function_privilege('farmreg_tap_sync', 'farmreg.register_farm_admins(jsonb, text)', 'EXECUTE'),
          'the consumer role cannot import');

SELECT * FROM finish();
ROLLBACK;
