/* sql/farmreg--1.0.sql -- farmreg 1.0: tables, message catalog, functions, grants */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION farmreg" to load this file. \quit

--
-- Tables.  Constraint and index names are part of the design: the C code maps
-- the name carried by a unique violation to a stable error code, so renaming
-- one of them is a behaviour change.
--

-- USDA farm records, loaded by the operator (COPY / INSERT).
CREATE TABLE farmreg.usda_farms (
    id          bigserial NOT NULL,
    usda_uid    text NOT NULL,
    name        text NOT NULL,
    address     text,
    CONSTRAINT usda_farms_pkey PRIMARY KEY (id),
    CONSTRAINT usda_farms_usda_uid_key UNIQUE (usda_uid)
);

CREATE TABLE farmreg.users (
    id            bigserial NOT NULL,
    username      text NOT NULL,
    email         text NOT NULL,
    name          text NOT NULL,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    -- only libsodium argon2id strings, never anything a password could be read from
    CONSTRAINT users_password_hash_check
        CHECK (pg_catalog.starts_with(password_hash, '$argon2id$'))
);
-- unique ignoring case (the C code maps these index names to codes)
CREATE UNIQUE INDEX users_username_lower_key ON farmreg.users (pg_catalog.lower(username));
CREATE UNIQUE INDEX users_email_lower_key ON farmreg.users (pg_catalog.lower(email));

CREATE TABLE farmreg.farms (
    id           bigserial NOT NULL,
    name         text NOT NULL,
    usda_farm_id bigint,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT farms_pkey PRIMARY KEY (id),
    CONSTRAINT farms_usda_farm_id_key UNIQUE (usda_farm_id),
    CONSTRAINT farms_usda_farm_id_fkey FOREIGN KEY (usda_farm_id)
        REFERENCES farmreg.usda_farms (id)
);

CREATE TABLE farmreg.farmers (
    id        bigserial NOT NULL,
    user_id   bigint NOT NULL,
    farm_id   bigint NOT NULL,
    is_admin  boolean NOT NULL DEFAULT false,
    CONSTRAINT farmers_pkey PRIMARY KEY (id),
    CONSTRAINT farmers_user_id_farm_id_key UNIQUE (user_id, farm_id),
    CONSTRAINT farmers_user_id_fkey FOREIGN KEY (user_id) REFERENCES farmreg.users (id),
    CONSTRAINT farmers_farm_id_fkey FOREIGN KEY (farm_id) REFERENCES farmreg.farms (id)
);
-- the unique index above serves lookups by user; this one serves the farm side
-- of the foreign key (deleting a farm must not scan every farmer)
CREATE INDEX farmers_farm_id_idx ON farmreg.farmers (farm_id);

-- The message catalog: copy for every code in every shipped locale.
CREATE TABLE farmreg.messages (
    code     text NOT NULL,
    locale   text NOT NULL,
    message  text NOT NULL,
    CONSTRAINT messages_pkey PRIMARY KEY (code, locale)
);

-- One row per idempotency key that produced a registration.  The request is
-- remembered as a BLAKE2b digest of its trimmed username, name, email and
-- usda_uid; the password is not part of it in any form.
CREATE TABLE farmreg.idempotency_keys (
    key            text NOT NULL,
    request_digest bytea NOT NULL,
    user_id        bigint NOT NULL,
    farm_id        bigint NOT NULL,
    farmer_id      bigint NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (key),
    CONSTRAINT idempotency_keys_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES farmreg.users (id) ON DELETE CASCADE
);
CREATE INDEX idempotency_keys_user_id_idx ON farmreg.idempotency_keys (user_id);

--
-- The shipped copy.  farmreg.shipped_messages remembers what this version
-- installed, so that pg_dump saves only the catalog rows an operator edited or
-- added (see the pg_extension_config_dump filter below).
--
CREATE TABLE farmreg.shipped_messages (
    code     text NOT NULL,
    locale   text NOT NULL,
    message  text NOT NULL,
    CONSTRAINT shipped_messages_pkey PRIMARY KEY (code, locale)
);

INSERT INTO farmreg.shipped_messages (code, locale, message) VALUES
    ('username_blank',          'en', 'Please choose a username.'),
    ('username_invalid',        'en', 'Usernames are 3 to 32 characters: letters, digits, underscores, dots and hyphens.'),
    ('username_taken',          'en', 'That username is already taken. Please choose another one.'),
    ('password_too_short',      'en', 'Your password needs at least 8 characters.'),
    ('password_too_long',       'en', 'Your password can have at most 1024 characters.'),
    ('name_blank',              'en', 'Please tell us your name.'),
    ('name_too_long',           'en', 'Your name can have at most 200 characters.'),
    ('email_blank',             'en', 'Please enter your email address.'),
    ('email_invalid',           'en', 'That does not look like an email address. Please check it.'),
    ('email_already_claimed',   'en', 'An account with this email address already exists.'),
    ('usda_uid_blank',          'en', 'Please enter your farm''s USDA ID.'),
    ('invalid_usda_uid',        'en', 'We could not find a farm with that USDA ID.'),
    ('farm_already_claimed',    'en', 'This farm has already been registered by someone else.'),
    ('idempotency_key_invalid', 'en', 'The request key is invalid. Please reload the page and try again.'),
    ('idempotency_key_reused',  'en', 'This request key was already used for a different registration.'),
    ('internal_error',          'en', 'Something went wrong on our side. Please try again in a moment.'),

    ('username_blank',          'es', 'Elige un nombre de usuario.'),
    ('username_invalid',        'es', 'El nombre de usuario debe tener de 3 a 32 caracteres: letras, dígitos, guiones bajos, puntos y guiones.'),
    ('username_taken',          'es', 'Ese nombre de usuario ya está en uso. Elige otro.'),
    ('password_too_short',      'es', 'La contraseña debe tener al menos 8 caracteres.'),
    ('password_too_long',       'es', 'La contraseña puede tener como máximo 1024 caracteres.'),
    ('name_blank',              'es', 'Escribe tu nombre.'),
    ('name_too_long',           'es', 'Tu nombre puede tener como máximo 200 caracteres.'),
    ('email_blank',             'es', 'Escribe tu correo electrónico.'),
    ('email_invalid',           'es', 'Ese correo electrónico no parece válido. Revísalo.'),
    ('email_already_claimed',   'es', 'Ya existe una cuenta con este correo electrónico.'),
    ('usda_uid_blank',          'es', 'Escribe el ID del USDA de tu granja.'),
    ('invalid_usda_uid',        'es', 'No encontramos ninguna granja con ese ID del USDA.'),
    ('farm_already_claimed',    'es', 'Otra persona ya registró esta granja.'),
    ('idempotency_key_invalid', 'es', 'La clave de la solicitud no es válida. Recarga la página e inténtalo de nuevo.'),
    ('idempotency_key_reused',  'es', 'Esta clave de solicitud ya se usó para otro registro.'),
    ('internal_error',          'es', 'Algo salió mal de nuestro lado. Inténtalo de nuevo en un momento.');

INSERT INTO farmreg.messages (code, locale, message)
    SELECT code, locale, message FROM farmreg.shipped_messages;

-- Inserting copy for a code and locale that already has some replaces it.
-- That is what lets pg_restore load an edited shipped row on top of the one
-- CREATE EXTENSION installed, instead of failing on the primary key.
CREATE FUNCTION farmreg.messages_upsert() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE farmreg.messages AS m
       SET message = NEW.message
     WHERE m.code = NEW.code AND m.locale = NEW.locale;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER messages_upsert
    BEFORE INSERT ON farmreg.messages
    FOR EACH ROW EXECUTE FUNCTION farmreg.messages_upsert();

--
-- pg_dump keeps operator data: every row of the data tables, the sequences'
-- positions, and the catalog rows that differ from the shipped copy.
--
SELECT pg_catalog.pg_extension_config_dump('farmreg.usda_farms', '');
SELECT pg_catalog.pg_extension_config_dump('farmreg.usda_farms_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('farmreg.users', '');
SELECT pg_catalog.pg_extension_config_dump('farmreg.users_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('farmreg.farms', '');
SELECT pg_catalog.pg_extension_config_dump('farmreg.farms_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('farmreg.farmers', '');
SELECT pg_catalog.pg_extension_config_dump('farmreg.farmers_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('farmreg.idempotency_keys', '');
SELECT pg_catalog.pg_extension_config_dump('farmreg.messages',
    'WHERE NOT EXISTS (SELECT 1 FROM farmreg.shipped_messages s'
    ' WHERE s.code = messages.code AND s.locale = messages.locale'
    ' AND s.message = messages.message)');

--
-- Types and functions.
--
CREATE TYPE farmreg.registration_result AS (
    ok          boolean,
    user_id     bigint,
    farm_id     bigint,
    farmer_id   bigint,
    error_code  text,
    failed_step text,
    message     text,
    errors      jsonb
);

CREATE FUNCTION farmreg.register_farm_admin(
    username text,
    password text,
    name text,
    email text,
    usda_uid text,
    idempotency_key text DEFAULT NULL,
    locale text DEFAULT NULL)
RETURNS farmreg.registration_result
AS 'MODULE_PATHNAME', 'farmreg_register_farm_admin'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION farmreg.register_farm_admin(text, text, text, text, text, text, text) IS
    'registers a farm admin (user, farm and farmer rows together, or none) and returns a structured result';

CREATE FUNCTION farmreg.verify_password(login text, password text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'farmreg_verify_password'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION farmreg.verify_password(text, text) IS
    'the id of the user whose username or email is login and whose password matches, else NULL';

CREATE FUNCTION farmreg.error_message(code text, locale text DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'farmreg_error_message'
LANGUAGE C STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION farmreg.error_message(text, text) IS
    'catalog copy for an error code in a locale (falling back to the language, then to en); NULL for an unknown code';

CREATE FUNCTION farmreg.purge_idempotency_keys(older_than interval DEFAULT '24 hours')
RETURNS bigint
LANGUAGE sql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH purged AS (
        DELETE FROM farmreg.idempotency_keys
         WHERE created_at < pg_catalog.now() OPERATOR(pg_catalog.-) older_than
        RETURNING 1
    )
    SELECT pg_catalog.count(*) FROM purged;
$$;

COMMENT ON FUNCTION farmreg.purge_idempotency_keys(interval) IS
    'forgets idempotency keys older than the given age; returns how many were removed';

--
-- Privileges.  PUBLIC may see the schema and read copy through error_message();
-- everything else is granted by the operator (see README: an app role needs
-- EXECUTE on register_farm_admin and verify_password).
--
GRANT USAGE ON SCHEMA farmreg TO PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA farmreg FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA farmreg FROM PUBLIC;
REVOKE ALL ON FUNCTION farmreg.register_farm_admin(text, text, text, text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION farmreg.verify_password(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION farmreg.purge_idempotency_keys(interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION farmreg.messages_upsert() FROM PUBLIC;
