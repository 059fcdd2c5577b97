--
-- versions: a database still at 1.0 keeps working with the current library,
-- and ALTER EXTENSION UPDATE brings it to the current version in place
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS farmreg;
CREATE EXTENSION farmreg VERSION '1.0';
RESET client_min_messages;
SET farmreg.password_opslimit = 1;
SET farmreg.password_memlimit = '8kB';
INSERT INTO farmreg.usda_farms (usda_uid, name)
SELECT 'USDA-' || g, 'Farm ' || g FROM generate_series(1, 10) AS g;

SELECT extversion FROM pg_extension WHERE extname = 'farmreg';
-- 1.0 has no outbox; its register_farm_admin does not need one
SELECT to_regclass('farmreg.events') IS NULL AS no_events_table;
SELECT ok, user_id FROM farmreg.register_farm_admin(
    'old', 'pw-SECRET-old-123', 'Old Timer', 'old@example.com', 'USDA-1', 'key-old');
SELECT ok, error_code FROM farmreg.register_farm_admin(
    'old', 'pw-SECRET-old-123', 'Old Timer', 'OLD@example.com', 'USDA-2');

ALTER EXTENSION farmreg UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'farmreg';

-- the data is intact, the old key still answers, and new registrations
-- append their event
SELECT username, email FROM farmreg.users ORDER BY id;
SELECT ok, user_id FROM farmreg.register_farm_admin(
    'old', 'pw-SECRET-old-123', 'Old Timer', 'old@example.com', 'USDA-1', 'key-old');
SELECT farmreg.verify_password('old', 'pw-SECRET-old-123') AS old_login;
SELECT ok, user_id FROM farmreg.register_farm_admin(
    'new', 'pw-SECRET-new-123', 'New Comer', 'new@example.com', 'USDA-2');
SELECT type, user_id, payload->>'username' AS username FROM farmreg.events ORDER BY id;

DROP EXTENSION farmreg;
