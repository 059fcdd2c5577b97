-- examples/setup.sql -- the operator's part, to try the client examples on a
-- scratch database.  As a superuser:
--
--     createdb farms
--     psql -d farms -v app_role=app -f examples/setup.sql
--
-- Installs farmreg, loads 300 made-up USDA farm records (USDA-10001 ..
-- USDA-10300), and creates the app role (LOGIN, not a superuser) with the
-- only privileges an app needs: EXECUTE on register_farm_admin and
-- verify_password.  The schema's USAGE, and farmreg.error_message(), are
-- PUBLIC already.  Give the role a password (or another authentication
-- method) the way your pg_hba.conf wants; the test clusters use trust over a
-- unix socket.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
\if :{?app_role}
\else
\set app_role app
\endif

CREATE EXTENSION IF NOT EXISTS farmreg;

INSERT INTO farmreg.usda_farms (usda_uid, name, address)
SELECT format('USDA-%s', 10000 + g),
       (ARRAY['Green Acres', 'Sunny Side', 'Oak Hollow', 'River Bend', 'Maple Ridge',
              'Blue Sky', 'Cedar Creek', 'Willow Brook'])[1 + g % 8] || ' Farm #' || g,
       g || ' County Road ' || (1 + g % 40)
  FROM generate_series(1, 300) AS g
ON CONFLICT (usda_uid) DO NOTHING;

SELECT format('CREATE ROLE %I LOGIN', :'app_role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = :'app_role')
\gexec

GRANT EXECUTE ON FUNCTION
    farmreg.register_farm_admin(text, text, text, text, text, text, text),
    farmreg.verify_password(text, text)
  TO :"app_role";
