--
-- catalog: copy for codes, locales and their fallbacks, live copy edits
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS farmreg;
CREATE EXTENSION farmreg;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
SET farmreg.password_opslimit = 1;
SET farmreg.password_memlimit = '8kB';
INSERT INTO farmreg.usda_farms (usda_uid, name) VALUES ('USDA-1', 'Farm 1'), ('USDA-2', 'Farm 2');

-- every code ships in en and es, and the two differ
SELECT code, count(*) AS locales, count(DISTINCT message) AS distinct_copy
  FROM farmreg.messages GROUP BY code ORDER BY code;

-- error_message: the locale's copy, the language's for a regional locale,
-- en for an unknown one, NULL for an unknown code
SELECT left(l, 16) AS locale,
       farmreg.error_message('email_blank', l) = (SELECT message FROM farmreg.messages
                                                    WHERE code = 'email_blank' AND locale = 'es') AS spanish,
       farmreg.error_message('email_blank', l) = (SELECT message FROM farmreg.messages
                                                    WHERE code = 'email_blank' AND locale = 'en') AS english
  FROM unnest(ARRAY['es', 'ES', 'es-MX', 'es_MX', 'es_MX.UTF-8', 'es-419', 'en', 'en-GB',
                    'fr', 'xx-YY', '', 'e', repeat('es', 100), $$es'; --$$]) AS l;
SELECT farmreg.error_message('no_such_code') IS NULL AS unknown_code,
       farmreg.error_message(NULL) IS NULL AS null_code,
       farmreg.error_message('email_blank', NULL) = farmreg.error_message('email_blank', 'en') AS null_locale;

-- the GUC farmreg.locale picks the copy when a call names no locale
SHOW farmreg.locale;
SET farmreg.locale = 'es_MX';
SELECT farmreg.error_message('name_blank') = farmreg.error_message('name_blank', 'es') AS guc_spanish;
SELECT message = farmreg.error_message('name_blank', 'es') AS result_spanish
  FROM farmreg.register_farm_admin('abc', 'pw-SECRET-x-123', '', 'abc@example.com', 'USDA-1');
-- an argument wins over the GUC
SELECT message = farmreg.error_message('name_blank', 'en') AS argument_wins
  FROM farmreg.register_farm_admin('abc', 'pw-SECRET-x-123', '', 'abc@example.com', 'USDA-1', NULL, 'en');
RESET farmreg.locale;

-- a result's copy in the asked locale, for every entry
SELECT bool_and(e->>'message' = farmreg.error_message(e->>'code', 'es')) AS all_spanish
  FROM farmreg.register_farm_admin(NULL, NULL, NULL, NULL, NULL, NULL, 'es-MX') AS r,
       jsonb_array_elements(r.errors) AS e;

-- regional copy added by an operator is preferred over the language's
INSERT INTO farmreg.messages (code, locale, message)
VALUES ('name_blank', 'es-MX', 'copy for Mexico');
SELECT farmreg.error_message('name_blank', 'es_MX') = 'copy for Mexico' AS regional,
       farmreg.error_message('name_blank', 'es') <> 'copy for Mexico' AS language_unchanged;

-- inserting copy for an existing code and locale replaces it (pg_restore
-- relies on this to bring back edited shipped rows)
INSERT INTO farmreg.messages (code, locale, message)
VALUES ('name_blank', 'es-MX', 'second copy for Mexico');
SELECT message FROM farmreg.messages WHERE code = 'name_blank' AND locale = 'es-MX';

-- A copy edit committed by another session shows in this session's next
-- call: no stale cache.  The edit is made over dblink, in its own transaction.
SELECT dblink_connect('editor', format('dbname=%s host=%s port=%s',
       current_database(), split_part(current_setting('unix_socket_directories'), ',', 1),
       current_setting('port')));
SELECT farmreg.error_message('email_already_claimed', 'en') AS before_edit \gset
SELECT dblink_exec('editor',
       $$UPDATE farmreg.messages SET message = 'EDITED ' || message
          WHERE code = 'email_already_claimed' AND locale = 'en'$$);
SELECT farmreg.error_message('email_already_claimed', 'en') = 'EDITED ' || :'before_edit' AS edit_visible;
SELECT ok FROM farmreg.register_farm_admin('first', 'pw-SECRET-first-1', 'First', 'first@example.com', 'USDA-1');
SELECT message = 'EDITED ' || :'before_edit' AS edit_in_result
  FROM farmreg.register_farm_admin('second', 'pw-SECRET-second-1', 'Second', 'FIRST@example.com', 'USDA-2');
SELECT dblink_exec('editor',
       $$UPDATE farmreg.messages SET message = substr(message, 8)
          WHERE code = 'email_already_claimed' AND locale = 'en'$$);
SELECT farmreg.error_message('email_already_claimed', 'en') = :'before_edit' AS edit_reverted;
SELECT dblink_disconnect('editor');

-- a code whose copy was deleted still comes back as a code, with NULL copy
DELETE FROM farmreg.messages WHERE code = 'usda_uid_blank';
SELECT ok, error_code, message IS NULL AS no_copy, errors->0->>'code' AS code
  FROM farmreg.register_farm_admin('third', 'pw-SECRET-third-1', 'Third', 'third@example.com', NULL);

DROP EXTENSION farmreg;
