--
-- outbox: the events registrations and deregistrations append, the consumer
-- API (poll_events / ack_events) and deregister_farm_admin's effects.
-- Concurrency (out-of-order commits, concurrent acks) is in specs/outbox_*.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS farmreg;
CREATE EXTENSION farmreg;
RESET client_min_messages;
SET farmreg.password_opslimit = 1;
SET farmreg.password_memlimit = '8kB';
INSERT INTO farmreg.usda_farms (usda_uid, name)
SELECT 'USDA-' || g, 'Farm ' || g FROM generate_series(1, 100) AS g;

CREATE FUNCTION row_counts(OUT users bigint, OUT farms bigint, OUT farmers bigint,
                           OUT keys bigint, OUT events bigint)
LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM farmreg.users), (SELECT count(*) FROM farmreg.farms),
           (SELECT count(*) FROM farmreg.farmers), (SELECT count(*) FROM farmreg.idempotency_keys),
           (SELECT count(*) FROM farmreg.events)
$$;
-- poll a consumer's events and acknowledge them all
CREATE FUNCTION catch_up(consumer text) RETURNS boolean LANGUAGE sql AS $$
    SELECT farmreg.ack_events(consumer, (SELECT id FROM farmreg.poll_events(consumer, 1000)
                                          ORDER BY pos DESC LIMIT 1))
$$;
CREATE FUNCTION fail_with() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'injected failure on %', TG_TABLE_NAME USING ERRCODE = TG_ARGV[0];
END
$$;

-- Nothing yet: a consumer polling an empty outbox gets nothing.
SELECT count(*) AS delivered FROM farmreg.poll_events('early');

--
-- Events for successful registrations only
--

-- A success appends exactly one farm_admin_registered event, in the same
-- transaction, with the ids of the result and the fields as stored (trimmed).
CREATE TEMP TABLE r1 AS
SELECT * FROM farmreg.register_farm_admin(' ann ', 'pw-SECRET-ann-1', ' Ann Arbor ',
                                          ' Ann@Example.com ', ' USDA-1 ', 'key-ann');
SELECT ok FROM r1;
SELECT e.type, e.user_id = r1.user_id AS user_matches,
       (e.payload->>'user_id')::bigint = r1.user_id AS payload_user,
       (e.payload->>'farm_id')::bigint = r1.farm_id AS payload_farm,
       (e.payload->>'farmer_id')::bigint = r1.farmer_id AS payload_farmer,
       e.payload->>'username' AS username, e.payload->>'email' AS email,
       e.payload->>'name' AS name, e.payload->>'usda_uid' AS usda_uid,
       e.created_at <= now() AS created_at_set
  FROM farmreg.events AS e, r1;
-- exactly these payload keys, with these JSON types
SELECT key, jsonb_typeof(value) AS type
  FROM farmreg.events AS e, jsonb_each(e.payload)
 ORDER BY key;
-- no password, nor its hash, anywhere in the outbox
SELECT count(*) AS leaks
  FROM farmreg.events AS e
 WHERE e::text LIKE '%pw-SECRET%' OR e::text LIKE '%argon2%' OR e.payload ? 'password'
    OR e.payload ? 'password_hash';

-- Validation failures append nothing.
SELECT ok, error_code FROM farmreg.register_farm_admin('ann', 'pw-SECRET-ann-2', 'Ann', 'ann2@example.com', 'USDA-2');
SELECT ok, error_code FROM farmreg.register_farm_admin('bob', 'short', 'Bob', 'bob@example.com', 'USDA-2');
SELECT ok, error_code FROM farmreg.register_farm_admin('bob', 'pw-SECRET-bob-1', 'Bob', 'bob@example.com', 'USDA-1');
SELECT ok, error_code FROM farmreg.register_farm_admin('bob', 'pw-SECRET-bob-1', 'Bob', 'bob@example.com', 'USDA-404');
SELECT ok, error_code FROM farmreg.register_farm_admin('bob', 'pw-SECRET-bob-1', 'Bob', 'bob@example.com', 'USDA-2', 'key-ann');
SELECT * FROM row_counts();

-- An idempotent retry returns the stored result and appends nothing.
SELECT ok, user_id = (SELECT user_id FROM r1) AS same_user
  FROM farmreg.register_farm_admin('ann', 'pw-SECRET-ann-1', 'Ann Arbor', 'Ann@Example.com', 'USDA-1', 'key-ann');
SELECT * FROM row_counts();

-- Internal failures in any step append nothing, and leave nothing behind.
CREATE TRIGGER inject BEFORE INSERT ON farmreg.farmers
    FOR EACH ROW EXECUTE FUNCTION fail_with('FR001');
SELECT ok, error_code, failed_step, errors->0->>'sqlstate' AS sqlstate
  FROM farmreg.register_farm_admin('bob', 'pw-SECRET-bob-1', 'Bob', 'bob@example.com', 'USDA-2', 'key-bob');
DROP TRIGGER inject ON farmreg.farmers;
-- a failure appending the event itself undoes the registration's rows
CREATE TRIGGER inject BEFORE INSERT ON farmreg.events
    FOR EACH ROW EXECUTE FUNCTION fail_with('FR002');
SELECT ok, error_code, failed_step, errors->0->>'sqlstate' AS sqlstate
  FROM farmreg.register_farm_admin('bob', 'pw-SECRET-bob-1', 'Bob', 'bob@example.com', 'USDA-2', 'key-bob');
DROP TRIGGER inject ON farmreg.events;
SELECT * FROM row_counts();
-- and the key is still free: the retry registers, with its one event
SELECT ok FROM farmreg.register_farm_admin('bob', 'pw-SECRET-bob-1', 'Bob', 'bob@example.com', 'USDA-2', 'key-bob');
SELECT * FROM row_counts();

-- A batch appends one event per registered request, in request order, and
-- none for the rejected ones (validation, a duplicate inside the batch, an
-- internal failure of one request).
CREATE FUNCTION fail_for_username() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.username = TG_ARGV[0] THEN
        RAISE EXCEPTION 'injected failure for %', NEW.username USING ERRCODE = 'FR003';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER inject BEFORE INSERT ON farmreg.users
    FOR EACH ROW EXECUTE FUNCTION fail_for_username('dan');
CREATE TEMP TABLE b1 AS
SELECT * FROM farmreg.register_farm_admins($$[
    {"username": "cat", "password": "pw-SECRET-cat-1", "name": "Cat", "email": "cat@example.com", "usda_uid": "USDA-3"},
    {"username": "x",   "password": "pw-SECRET-x-123", "name": "X",   "email": "x@example.com",   "usda_uid": "USDA-4"},
    {"username": "dan", "password": "pw-SECRET-dan-1", "name": "Dan", "email": "dan@example.com", "usda_uid": "USDA-5"},
    {"username": "eve", "password": "pw-SECRET-eve-1", "name": "Eve", "email": "eve@example.com", "usda_uid": "USDA-6"},
    {"username": "CAT", "password": "pw-SECRET-cat-2", "name": "Cat", "email": "cat2@example.com", "usda_uid": "USDA-7"},
    {"username": "fox", "password": "pw-SECRET-fox-1", "name": "Fox", "email": "fox@example.com", "usda_uid": "USDA-8", "idempotency_key": "key-bob"},
    {"username": "gil", "password": "pw-SECRET-gil-1", "name": "Gil", "email": "gil@example.com", "usda_uid": "USDA-9"}
]$$);
DROP TRIGGER inject ON farmreg.users;
SELECT ordinal, ok, error_code, failed_step FROM b1 ORDER BY ordinal;
-- the events of the batch: exactly the registered requests, in their order
SELECT b1.ordinal, e.payload->>'username' AS username,
       (e.payload->>'farm_id')::bigint = b1.farm_id AND (e.payload->>'farmer_id')::bigint = b1.farmer_id AS ids_match
  FROM farmreg.events AS e
  JOIN b1 ON b1.user_id = e.user_id
 ORDER BY e.id;
SELECT (SELECT count(*) FROM b1 WHERE ok) AS registered,
       (SELECT count(*) FROM farmreg.events AS e JOIN b1 ON b1.user_id = e.user_id) AS events;
-- re-running a keyed batch request appends nothing
SELECT ok FROM farmreg.register_farm_admins($$[
    {"username": "bob", "password": "pw-SECRET-bob-1", "name": "Bob", "email": "bob@example.com", "usda_uid": "USDA-2", "idempotency_key": "key-bob"}
]$$);
SELECT * FROM row_counts();

-- A rollback of the caller's transaction (or savepoint) leaves no event,
-- and nothing is ever delivered for it.
BEGIN;
SELECT ok FROM farmreg.register_farm_admin('hal', 'pw-SECRET-hal-1', 'Hal', 'hal@example.com', 'USDA-10');
SELECT count(*) AS events_inside FROM farmreg.events;
ROLLBACK;
BEGIN;
SAVEPOINT s;
SELECT ok FROM farmreg.register_farm_admin('hal', 'pw-SECRET-hal-1', 'Hal', 'hal@example.com', 'USDA-10');
SELECT count(*) FROM farmreg.register_farm_admins('[{"username": "ida", "password": "pw-SECRET-ida-1", "name": "Ida", "email": "ida@example.com", "usda_uid": "USDA-11"}]');
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT * FROM row_counts();

--
-- Consumers: poll_events / ack_events
--

-- A new consumer starts at the beginning, in delivery order.
SELECT id, type, payload->>'username' AS username FROM farmreg.poll_events('c1');
-- Polling again without acknowledging returns the same events.
SELECT array_agg(id ORDER BY pos) AS again FROM farmreg.poll_events('c1');
-- max_events limits a poll; the default is 100.
SELECT id, payload->>'username' AS username FROM farmreg.poll_events('c1', 2);
SELECT count(*) FROM farmreg.poll_events('c1', 1);
-- Acknowledge the second event: the next poll starts after it.
SELECT farmreg.ack_events('c1', (SELECT id FROM farmreg.poll_events('c1', 2) ORDER BY pos OFFSET 1));
SELECT id, payload->>'username' AS username FROM farmreg.poll_events('c1');
-- A stale ack (the same event again, or an earlier one) is false and moves nothing.
SELECT farmreg.ack_events('c1', 2) AS same_again, farmreg.ack_events('c1', 1) AS earlier;
SELECT array_agg(id ORDER BY pos) AS still FROM farmreg.poll_events('c1');
SELECT acked_pos FROM farmreg.event_consumers WHERE consumer = 'c1';
-- An ack of an event that does not exist, or that no poll has delivered
-- yet, is false.
SELECT farmreg.ack_events('c1', 1000000) AS unknown_id, farmreg.ack_events('nobody', 1) AS unknown_consumer;
SELECT ok FROM farmreg.register_farm_admin('ivy', 'pw-SECRET-ivy-1', 'Ivy', 'ivy@example.com', 'USDA-12');
SELECT farmreg.ack_events('c1', (SELECT max(id) FROM farmreg.events)) AS never_polled;
SELECT array_agg(id ORDER BY pos) AS unchanged_then_new FROM farmreg.poll_events('c1');
-- Two consumers are independent: c2 starts at the beginning although c1
-- has acknowledged, and c2's ack does not move c1.
SELECT array_agg(id ORDER BY pos) AS c2_first FROM farmreg.poll_events('c2');
SELECT farmreg.ack_events('c2', (SELECT max(id) FROM farmreg.events));
SELECT count(*) AS c2_left FROM farmreg.poll_events('c2');
SELECT array_agg(id ORDER BY pos) AS c1_unmoved FROM farmreg.poll_events('c1');
-- acknowledging the last event leaves nothing to deliver
SELECT farmreg.ack_events('c1', (SELECT max(id) FROM farmreg.events));
SELECT count(*) AS c1_left FROM farmreg.poll_events('c1');
SELECT consumer, acked_pos = (SELECT max(pos) FROM farmreg.events) AS at_end, acked_at IS NOT NULL AS acked
  FROM farmreg.event_consumers ORDER BY consumer;

-- A caller's own uncommitted events are not delivered inside its
-- transaction; they come once it commits.
BEGIN;
SELECT ok FROM farmreg.register_farm_admin('jay', 'pw-SECRET-jay-1', 'Jay', 'jay@example.com', 'USDA-13');
SELECT count(*) AS own_uncommitted FROM farmreg.poll_events('c1');
COMMIT;
SELECT payload->>'username' AS username FROM farmreg.poll_events('c1');

-- Bad arguments: max_events below 1 is an error; NULLs deliver and
-- acknowledge nothing; a poll outside READ COMMITTED is refused.
\set VERBOSITY terse
SELECT * FROM farmreg.poll_events('c1', 0);
SELECT count(*) FROM farmreg.poll_events(NULL);
SELECT count(*) FROM farmreg.poll_events('c1', NULL);
SELECT farmreg.ack_events('c1', NULL) IS NULL AS null_ack, farmreg.ack_events(NULL, 1) IS NULL AS null_consumer;
BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM farmreg.poll_events('c1');
ROLLBACK;
\set VERBOSITY default

--
-- deregister_farm_admin
--

-- Setup: kim administers USDA-20 and registered with a key; lee administers
-- USDA-21, where moe (who administers USDA-22) also works as a farmer.
CREATE TEMP TABLE kim AS
SELECT * FROM farmreg.register_farm_admin('kim', 'pw-SECRET-kim-1', 'Kim', 'Kim@Example.com', 'USDA-20', 'key-kim');
CREATE TEMP TABLE lee AS
SELECT * FROM farmreg.register_farm_admin('lee', 'pw-SECRET-lee-1', 'Lee', 'lee@example.com', 'USDA-21');
CREATE TEMP TABLE moe AS
SELECT * FROM farmreg.register_farm_admin('moe', 'pw-SECRET-moe-1', 'Moe', 'moe@example.com', 'USDA-22');
INSERT INTO farmreg.farmers (user_id, farm_id, is_admin)
SELECT moe.user_id, lee.farm_id, false FROM moe, lee;
SELECT catch_up('c1');
SELECT * FROM row_counts();

-- A rollback of the caller's transaction undoes a deregistration whole.
BEGIN;
SELECT farmreg.deregister_farm_admin((SELECT user_id FROM kim), 'changed my mind');
ROLLBACK;
SELECT * FROM row_counts();
SELECT count(*) AS nothing_new FROM farmreg.poll_events('c1');

-- Deregistering kim removes the farmer row, the farm, the user and the key
-- at once, and appends one event describing who was removed and why.
SELECT farmreg.deregister_farm_admin((SELECT user_id FROM kim), 'identity provider rejected the account: HTTP 422');
SELECT (SELECT count(*) FROM farmreg.users WHERE id = kim.user_id) AS users,
       (SELECT count(*) FROM farmreg.farms WHERE id = kim.farm_id) AS farms,
       (SELECT count(*) FROM farmreg.farmers WHERE user_id = kim.user_id) AS farmers,
       (SELECT count(*) FROM farmreg.idempotency_keys WHERE key = 'key-kim') AS keys
  FROM kim;
SELECT e.type, e.user_id = kim.user_id AS user_matches,
       (e.payload->>'user_id')::bigint = kim.user_id AS payload_user,
       (e.payload->>'farm_id')::bigint = kim.farm_id AS payload_farm,
       e.payload->>'username' AS username, e.payload->>'email' AS email,
       e.payload->>'usda_uid' AS usda_uid, e.payload->>'reason' AS reason,
       e::text LIKE '%pw-SECRET%' OR e::text LIKE '%argon2%' AS leaks
  FROM farmreg.poll_events('c1') AS e, kim;
SELECT catch_up('c1');
-- false, and no event, for a user that is gone or never was
SELECT farmreg.deregister_farm_admin((SELECT user_id FROM kim), 'again') AS again,
       farmreg.deregister_farm_admin(1000000, 'unknown') AS unknown,
       farmreg.deregister_farm_admin(NULL, 'null') AS null_user;
SELECT count(*) AS no_new_event FROM farmreg.poll_events('c1');

-- The email, the username, the farm and even the key are free again: the
-- same request registers a new user (a new event), not the old result.
CREATE TEMP TABLE kim2 AS
SELECT * FROM farmreg.register_farm_admin('KIM', 'pw-SECRET-kim-2', 'Kim', 'kim@example.com', 'USDA-20', 'key-kim');
SELECT kim2.ok, kim2.user_id <> kim.user_id AS new_user, kim2.farm_id <> kim.farm_id AS new_farm
  FROM kim, kim2;
SELECT type, payload->>'username' AS username FROM farmreg.poll_events('c1');

-- Deregistering lee: lee's farmer row and user go, but the farm stays,
-- because moe is on it too; moe's rows are untouched.  The event names the
-- farm lee administered.
SELECT farmreg.deregister_farm_admin((SELECT user_id FROM lee), NULL);
SELECT (SELECT count(*) FROM farmreg.users WHERE id = lee.user_id) AS lee_users,
       (SELECT count(*) FROM farmreg.farms WHERE id = lee.farm_id) AS lee_farm,
       (SELECT count(*) FROM farmreg.farmers WHERE farm_id = lee.farm_id) AS farmers_on_it,
       (SELECT count(*) FROM farmreg.farmers WHERE user_id = moe.user_id) AS moe_farmers,
       (SELECT count(*) FROM farmreg.farms WHERE id = moe.farm_id) AS moe_farm
  FROM lee, moe;
SELECT (e.payload->>'farm_id')::bigint = lee.farm_id AS payload_farm, e.payload->>'usda_uid' AS usda_uid,
       e.payload ? 'reason' AS has_reason, e.payload->>'reason' AS reason
  FROM farmreg.events AS e, lee
 WHERE e.type = 'farm_admin_deregistered' AND e.user_id = lee.user_id;
-- the farm is not free (moe is on it): registering it is refused
SELECT ok, error_code FROM farmreg.register_farm_admin('lee', 'pw-SECRET-lee-2', 'Lee', 'lee@example.com', 'USDA-21');

-- Per user, the events come in the order they happened: kim's
-- registration, deregistration, and the new kim's registration after them.
SELECT user_id, array_agg(type ORDER BY pos) AS history
  FROM farmreg.poll_events('c3', 1000)
 WHERE user_id IN (SELECT user_id FROM kim UNION ALL SELECT user_id FROM lee UNION ALL SELECT user_id FROM kim2)
 GROUP BY user_id
 ORDER BY user_id;

-- Everything is delivered to a fresh consumer, each event once per poll;
-- after a poll no committed event is without a position, and positions are
-- unique.
SELECT count(*) = (SELECT count(*) FROM farmreg.events) AS all_delivered,
       count(DISTINCT id) = count(*) AS no_duplicates
  FROM farmreg.poll_events('c4', 1000);
SELECT count(*) FILTER (WHERE pos IS NULL) AS unpositioned,
       count(DISTINCT pos) = count(*) AS unique_positions
  FROM farmreg.events;

--
-- Privileges: PUBLIC can neither read the outbox nor call its functions; a
-- sync worker's role needs EXECUTE on the three functions and nothing else.
--
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_outbox_nobody;
DROP ROLE IF EXISTS regress_outbox_sync;
RESET client_min_messages;
CREATE ROLE regress_outbox_nobody;
CREATE ROLE regress_outbox_sync;
GRANT EXECUTE ON FUNCTION farmreg.poll_events(text, integer), farmreg.ack_events(text, bigint),
                          farmreg.deregister_farm_admin(bigint, text)
   TO regress_outbox_sync;
SELECT user_id AS moe_id FROM moe \gset
\set VERBOSITY terse
SET ROLE regress_outbox_nobody;
SELECT count(*) FROM farmreg.events;
SELECT count(*) FROM farmreg.event_consumers;
SELECT count(*) FROM farmreg.poll_events('nobody');
SELECT farmreg.ack_events('nobody', 1);
SELECT farmreg.deregister_farm_admin(:moe_id, 'nobody');
RESET ROLE;
SET ROLE regress_outbox_sync;
SELECT count(*) FROM farmreg.events;
INSERT INTO farmreg.events (type, payload) VALUES ('forged', '{}');
SELECT count(*) > 0 AS delivered FROM farmreg.poll_events('sync');
SELECT catch_up('sync');
SELECT farmreg.deregister_farm_admin(:moe_id, 'by the sync role');
SELECT type, payload->>'reason' AS reason FROM farmreg.poll_events('sync');
RESET ROLE;
\set VERBOSITY default
DROP ROLE regress_outbox_nobody;
REVOKE ALL ON FUNCTION farmreg.poll_events(text, integer), farmreg.ack_events(text, bigint),
                       farmreg.deregister_farm_admin(bigint, text)
  FROM regress_outbox_sync;
DROP ROLE regress_outbox_sync;

-- An acknowledgement covers only events a committed poll gave the consumer:
-- a poll whose transaction rolled back gave nothing, so acknowledging what
-- it returned is refused instead of skipping events the consumer never saw.
SELECT catch_up('careful');
SELECT ok FROM farmreg.register_farm_admin('pia', 'pw-SECRET-pia-123', 'Pia', 'pia@example.com', 'USDA-97');
BEGIN;
SELECT type, payload->>'username' AS username FROM farmreg.poll_events('careful');
ROLLBACK;
SELECT farmreg.ack_events('careful', (SELECT max(id) FROM farmreg.events)) AS ack_of_a_rolled_back_poll;
SELECT type, payload->>'username' AS username FROM farmreg.poll_events('careful');
SELECT farmreg.ack_events('careful', (SELECT max(id) FROM farmreg.events)) AS ack_after_a_committed_poll;

-- Every registration's payload is exactly what jsonb_build_object makes of
-- the rows as stored (ids as numbers, the fields as strings).
SELECT count(*) AS registered_events,
       count(*) FILTER (WHERE e.payload = jsonb_build_object(
                 'user_id', u.id, 'farm_id', f.id, 'farmer_id', fm.id,
                 'username', u.username, 'email', u.email, 'name', u.name,
                 'usda_uid', uf.usda_uid)
             AND e.payload::text = jsonb_build_object(
                 'user_id', u.id, 'farm_id', f.id, 'farmer_id', fm.id,
                 'username', u.username, 'email', u.email, 'name', u.name,
                 'usda_uid', uf.usda_uid)::text) AS exact_payloads
  FROM farmreg.events AS e
  JOIN farmreg.users AS u ON u.id = e.user_id
  JOIN farmreg.farmers AS fm ON fm.user_id = u.id AND fm.is_admin
  JOIN farmreg.farms AS f ON f.id = fm.farm_id
  JOIN farmreg.usda_farms AS uf ON uf.id = f.usda_farm_id
 WHERE e.type = 'farm_admin_registered';

DROP EXTENSION farmreg;
DROP FUNCTION row_counts(), catch_up(text), fail_with(), fail_for_username();
