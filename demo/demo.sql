-- demo/demo.sql -- what `make demo` shows: one real registration, then every
-- way it can fail, each with the copy an app would show, in English and Spanish.
--
-- Runs in a fresh database where CREATE EXTENSION farmreg was just done.
-- Hashing uses the default (OWASP) argon2id costs, as in production.

\pset footer off
\pset null '-'
\set ON_ERROR_STOP 1

-- the operator's part: the USDA records farms are registered against
INSERT INTO farmreg.usda_farms (usda_uid, name, address)
SELECT format('USDA-%s', 10000 + g),
       (ARRAY['Green Acres', 'Sunny Side', 'Oak Hollow', 'River Bend', 'Maple Ridge',
              'Blue Sky', 'Cedar Creek', 'Willow Brook'])[1 + g % 8] || ' Farm #' || g,
       g || ' County Road ' || (1 + g % 40)
  FROM generate_series(1, 300) AS g;
SELECT count(*) AS usda_farms_loaded FROM farmreg.usda_farms;

-- A small viewer: a result as rows, one per field error, with its copy.
CREATE FUNCTION pg_temp.show(r farmreg.registration_result)
RETURNS TABLE (ok boolean, failed_step text, field text, code text, message text)
LANGUAGE sql AS $$
    SELECT r.ok, r.failed_step, NULL, NULL, NULL WHERE r.ok
    UNION ALL
    SELECT r.ok, r.failed_step, e->>'field', e->>'code', e->>'message'
      FROM jsonb_array_elements(r.errors) AS e
$$;

\echo
\echo '== 1. A farm admin registers: user, farm and farmer land together =='
SELECT * FROM farmreg.register_farm_admin(
    username => 'maria.lopez', password => 'correct horse battery staple',
    name => 'María López', email => 'maria@greenacres.example', usda_uid => 'USDA-10001');
SELECT u.username, u.name AS user_name, f.name AS farm, fm.is_admin,
       left(u.password_hash, 30) || '...' AS password_hash
  FROM farmreg.users AS u
  JOIN farmreg.farmers AS fm ON fm.user_id = u.id
  JOIN farmreg.farms AS f ON f.id = fm.farm_id;
SELECT farmreg.verify_password('MARIA@greenacres.example', 'correct horse battery staple') AS login_user_id,
       farmreg.verify_password('maria.lopez', 'wrong password') AS wrong_password;

\echo
\echo '== 2. The email is already claimed (in another letter case) =='
SELECT * FROM pg_temp.show(farmreg.register_farm_admin(
    'mlopez', 'another long password', 'Maria L.', 'Maria@GreenAcres.example', 'USDA-10002'));

\echo
\echo '== 3. An unknown USDA id =='
SELECT * FROM pg_temp.show(farmreg.register_farm_admin(
    'tom.b', 'another long password', 'Tom B.', 'tom@example.com', 'USDA-99999'));

\echo
\echo '== 4. A farm someone already claimed =='
SELECT * FROM pg_temp.show(farmreg.register_farm_admin(
    'tom.b', 'another long password', 'Tom B.', 'tom@example.com', 'USDA-10001'));

\echo
\echo '== 5. Several field errors at once, all reported together, in field order =='
SELECT * FROM pg_temp.show(farmreg.register_farm_admin(
    'x', 'short', '   ', 'not-an-email', ''));

\echo
\echo '== 6. The same, in Spanish (locale es-MX falls back to es) =='
SELECT * FROM pg_temp.show(farmreg.register_farm_admin(
    'x', 'short', '   ', 'not-an-email', '', NULL, 'es-MX'));

\echo
\echo '== 7. A retry with an idempotency key: the stored result, nothing written twice =='
SELECT ok, user_id, farm_id, farmer_id FROM farmreg.register_farm_admin(
    'sam.green', 'a very good password', 'Sam Green', 'sam@sunnyside.example', 'USDA-10003',
    idempotency_key => 'signup-7f3a9c');
\echo '   ... the connection drops before the app sees the answer; it sends the same request again:'
SELECT ok, user_id, farm_id, farmer_id FROM farmreg.register_farm_admin(
    'sam.green', 'a very good password', 'Sam Green', 'sam@sunnyside.example', 'USDA-10003',
    idempotency_key => 'signup-7f3a9c');
\echo '   ... the same key with a different request:'
SELECT * FROM pg_temp.show(farmreg.register_farm_admin(
    'sam.green2', 'a very good password', 'Sam Green', 'sam2@sunnyside.example', 'USDA-10004',
    idempotency_key => 'signup-7f3a9c'));

\echo
\echo '== 8. Copy editors change wording in the catalog, no code involved =='
UPDATE farmreg.messages SET message = 'That farm is already on NomNomsFarm. Ask its admin to invite you!'
 WHERE code = 'farm_already_claimed' AND locale = 'en';
SELECT * FROM pg_temp.show(farmreg.register_farm_admin(
    'tom.b', 'another long password', 'Tom B.', 'tom@example.com', 'USDA-10003'));

\echo
\echo '== 9. A migration brings password hashes, not passwords: imported as they are, upgraded at the first login =='
-- (a bcrypt hash as a Rails/Devise app stores it, made by python3-bcrypt)
SELECT ordinal, ok, user_id, error_code FROM farmreg.register_farm_admins($$[
  {"username": "ada.legacy", "name": "Ada Legacy", "email": "ada@oldfarm.example", "usda_uid": "USDA-10005",
   "password_hash": "$2a$10$Gg2OtIN.HJ4WKebPoK5yhe3XWM9BCh/DRTI8h7WB6LUYGrtN4vu7W", "idempotency_key": "legacy-17"},
  {"username": "bad.legacy", "name": "Bad Legacy", "email": "bad@oldfarm.example", "usda_uid": "USDA-10006",
   "password_hash": "$2a$03$too-cheap-and-truncated"}
]$$);
SELECT * FROM farmreg.password_hash_formats ORDER BY format;
\echo '   ... Ada logs in with her old password; her hash becomes argon2id:'
SELECT farmreg.verify_password('ada.legacy', 'rails era password') AS user_id;
SELECT * FROM farmreg.password_hash_formats ORDER BY format;

\echo
\echo '== What is in the database now =='
SELECT (SELECT count(*) FROM farmreg.users) AS users,
       (SELECT count(*) FROM farmreg.farms) AS farms,
       (SELECT count(*) FROM farmreg.farmers) AS farmers,
       (SELECT count(*) FROM farmreg.idempotency_keys) AS idempotency_keys;
