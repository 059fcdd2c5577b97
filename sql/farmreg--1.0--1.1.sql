/* sql/farmreg--1.0--1.1.sql -- farmreg 1.1: batch registration, the outbox, compensation */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION farmreg UPDATE TO '1.1'" to load this file. \quit

-- A fresh CREATE EXTENSION farmreg runs farmreg--1.0.sql and then this
-- script, so an upgraded database and a new one are the same by construction.

--
-- The outbox.  Every successful registration appends one event in the same
-- subtransaction as its rows; deregistration appends one too.
--
-- Delivery order is not id order: ids come from a sequence, and a
-- transaction that took a lower id may commit after one that took a higher
-- id, so a consumer that remembered "the last id I saw" would skip it.
-- Events are delivered in the order of `pos` instead, a position that
-- poll_events() gives an event once its transaction has committed, always
-- greater than every position given before.  An event that commits late
-- simply gets a later position; none is ever skipped, and one whose
-- transaction rolled back is never seen.  txid is the writing transaction.
--
CREATE TABLE farmreg.events (
    id          bigserial NOT NULL,
    type        text NOT NULL,
    user_id     bigint,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    txid        xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    pos         bigint,
    CONSTRAINT events_pkey PRIMARY KEY (id),
    CONSTRAINT events_pos_key UNIQUE (pos)
);
-- the events still waiting for a position, and only those
CREATE INDEX events_unpositioned_idx ON farmreg.events (id) WHERE pos IS NULL;
CREATE INDEX events_user_id_idx ON farmreg.events (user_id);

-- A consumer's acknowledged position, and the furthest position a committed
-- poll of it has returned: an acknowledgement can only cover events the
-- consumer was given (a poll that rolled back gave nothing).
CREATE TABLE farmreg.event_consumers (
    consumer    text NOT NULL,
    acked_pos   bigint NOT NULL DEFAULT 0,
    acked_at    timestamptz,
    polled_pos  bigint NOT NULL DEFAULT 0,
    CONSTRAINT event_consumers_pkey PRIMARY KEY (consumer)
);

-- LISTEN farmreg_events: one notification per transaction that appended
-- events, sent when it commits (never for one that rolls back).
CREATE FUNCTION farmreg.notify_events() RETURNS trigger
AS 'MODULE_PATHNAME', 'farmreg_notify_events'
LANGUAGE C
SET search_path = pg_catalog, pg_temp;

CREATE TRIGGER events_notify
    AFTER INSERT ON farmreg.events
    FOR EACH STATEMENT EXECUTE FUNCTION farmreg.notify_events();

SELECT pg_catalog.pg_extension_config_dump('farmreg.events', '');
SELECT pg_catalog.pg_extension_config_dump('farmreg.events_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('farmreg.event_consumers', '');

--
-- Registration now appends its event: the same function, a new entry point.
--
CREATE OR REPLACE FUNCTION farmreg.register_farm_admin(
    username text,
    password text,
    name text,
    email text,
    usda_uid text,
    idempotency_key text DEFAULT NULL,
    locale text DEFAULT NULL)
RETURNS farmreg.registration_result
AS 'MODULE_PATHNAME', 'farmreg_register_farm_admin_1_1'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

--
-- Batch registration.
--
CREATE FUNCTION farmreg.register_farm_admins(requests jsonb, locale text DEFAULT NULL)
RETURNS TABLE (ordinal integer, ok boolean, user_id bigint, farm_id bigint,
               farmer_id bigint, error_code text, failed_step text, message text,
               errors jsonb)
AS 'MODULE_PATHNAME', 'farmreg_register_farm_admins_1_1'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION farmreg.register_farm_admins(jsonb, text) IS
    'registers a JSON array of farm admins, each judged as register_farm_admin would; one result row per request';

--
-- Compensation.
--
CREATE FUNCTION farmreg.deregister_farm_admin(user_id bigint, reason text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'farmreg_deregister_farm_admin_1_1'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION farmreg.deregister_farm_admin(bigint, text) IS
    'undoes a registration at once (farmer rows, farms no one else is on, the user, their keys) and appends a farm_admin_deregistered event';

--
-- Consumers.
--
CREATE FUNCTION farmreg.poll_events(consumer text, max_events integer DEFAULT 100)
RETURNS SETOF farmreg.events
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF max_events < 1 THEN
        RAISE EXCEPTION 'max_events must be at least 1'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- positions are handed out as "greater than the greatest so far", which
    -- needs each poller to see the one before it commit
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'poll_events() must run in a READ COMMITTED transaction'
            USING ERRCODE = 'invalid_transaction_state';
    END IF;

    INSERT INTO farmreg.event_consumers AS c (consumer)
    VALUES (poll_events.consumer)
    ON CONFLICT ON CONSTRAINT event_consumers_pkey DO NOTHING;

    -- Position the committed events that have none yet, in id order (so the
    -- events of one transaction, and of one user, keep their order).  The
    -- caller's own uncommitted events wait for its commit.  One poller at a
    -- time does this; the registrations appending events never wait for it.
    PERFORM pg_catalog.pg_advisory_xact_lock(
        'farmreg.events'::pg_catalog.regclass::pg_catalog.oid::integer, 0);
    WITH ready AS (
        SELECT e.id, pg_catalog.row_number() OVER (ORDER BY e.id) AS n
          FROM farmreg.events AS e
         WHERE e.pos IS NULL
           AND e.txid IS DISTINCT FROM pg_catalog.pg_current_xact_id_if_assigned()
    ), last AS (
        SELECT coalesce(pg_catalog.max(e.pos), 0) AS pos FROM farmreg.events AS e
    )
    UPDATE farmreg.events AS e
       SET pos = last.pos + ready.n
      FROM ready, last
     WHERE e.id = ready.id;

    RETURN QUERY
        WITH batch AS (
            SELECT e.*
              FROM farmreg.events AS e, farmreg.event_consumers AS c
             WHERE c.consumer = poll_events.consumer
               AND e.pos > c.acked_pos
             ORDER BY e.pos
             LIMIT max_events
        ), given AS (
            UPDATE farmreg.event_consumers AS c
               SET polled_pos = greatest(c.polled_pos, (SELECT max(b.pos) FROM batch AS b))
             WHERE c.consumer = poll_events.consumer
               AND EXISTS (SELECT FROM batch)
        )
        SELECT * FROM batch ORDER BY pos;
END
$$;

COMMENT ON FUNCTION farmreg.poll_events(text, integer) IS
    'the next events after the consumer''s acknowledged position, in delivery order; the same ones again until acknowledged';

CREATE FUNCTION farmreg.ack_events(consumer text, last_event_id bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acked bigint;
BEGIN
    -- compare and set: only forward, and only to an event a committed poll
    -- gave this consumer
    UPDATE farmreg.event_consumers AS c
       SET acked_pos = e.pos, acked_at = pg_catalog.now()
      FROM farmreg.events AS e
     WHERE c.consumer = ack_events.consumer
       AND e.id = ack_events.last_event_id
       AND e.pos > c.acked_pos
       AND e.pos <= c.polled_pos
    RETURNING c.acked_pos INTO acked;
    RETURN acked IS NOT NULL;
END
$$;

COMMENT ON FUNCTION farmreg.ack_events(text, bigint) IS
    'acknowledges every event up to and including the given one, in delivery order; false when the consumer is already past it';

REVOKE ALL ON TABLE farmreg.events, farmreg.event_consumers FROM PUBLIC;
REVOKE ALL ON SEQUENCE farmreg.events_id_seq FROM PUBLIC;
REVOKE ALL ON FUNCTION farmreg.register_farm_admins(jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION farmreg.deregister_farm_admin(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION farmreg.poll_events(text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION farmreg.ack_events(text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION farmreg.notify_events() FROM PUBLIC;
