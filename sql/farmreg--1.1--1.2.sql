/* sql/farmreg--1.1--1.2.sql -- farmreg 1.2 (work in progress, see CHANGELOG.md) */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION farmreg UPDATE TO '1.2'" to load this file. \quit

-- A fresh CREATE EXTENSION farmreg runs farmreg--1.0.sql, farmreg--1.0--1.1.sql
-- and then this script, so an upgraded database and a new one are the same by
-- construction.

-- ---------------------------------------------------------------------------
-- name_invalid (issue 14: no spoofing text in names): a name with a control
-- character, a bidirectional override or isolate, or nothing visible in it.
-- ---------------------------------------------------------------------------
INSERT INTO farmreg.shipped_messages (code, locale, message) VALUES
    ('name_invalid', 'en', 'Your name can only use visible characters: no control characters and no text-direction overrides.'),
    ('name_invalid', 'es', 'Tu nombre solo puede usar caracteres visibles: sin caracteres de control ni cambios de dirección del texto.');
INSERT INTO farmreg.messages (code, locale, message)
    SELECT code, locale, message FROM farmreg.shipped_messages WHERE code = 'name_invalid';
-- ---------------------------------------------------------------------------
-- end of name_invalid
-- ---------------------------------------------------------------------------
