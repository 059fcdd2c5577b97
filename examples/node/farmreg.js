'use strict';
// farmreg.js -- calling farmreg from Node.js with node-postgres (pg).
//
// The whole client side of a registration is one parameterised SELECT of
// farmreg.register_farm_admin(...) and reading its farmreg.registration_result
// row.  The function never throws for a rejected registration; it answers:
//
//   ok boolean, user_id bigint, farm_id bigint, farmer_id bigint,
//   error_code text, failed_step text, message text, errors jsonb
//
// `errors` is a JSON array of {field, code, message} (plus sqlstate for
// internal_error, whose field is null), in form order, with the copy in the
// asked locale: an app shows each message next to its field.
//
// Connections use libpq's environment variables (PGHOST, PGPORT, PGDATABASE,
// PGUSER, PGPASSWORD, ...), which `new pg.Client()` reads.  bigint ids come
// back as strings: a JS number cannot hold every bigint.  Passwords travel as
// query parameters only, and are never printed.

const pg = require('pg');

// Columns named one by one (not SELECT *): the contract may add columns at
// the end of registration_result, and this code keeps working when it does.
const REGISTER_SQL = `
  SELECT ok, user_id, farm_id, farmer_id, error_code, failed_step, message, errors
    FROM farmreg.register_farm_admin($1, $2, $3, $4, $5, $6, $7)`;

const VERIFY_SQL = 'SELECT farmreg.verify_password($1, $2) AS user_id';

// The form's fields, in the order the function reports errors.
const FIELDS = ['username', 'password', 'name', 'email', 'usda_uid', 'idempotency_key'];
const INPUT_FIELDS = FIELDS.slice(0, 5);

function toRegistration(row) {
  return {
    ok: row.ok,
    userId: row.user_id,
    farmId: row.farm_id,
    farmerId: row.farmer_id,
    errorCode: row.error_code,
    failedStep: row.failed_step,      // 'validate', 'create_user', ...
    message: row.message,
    errors: row.errors || [],         // jsonb arrives parsed
  };
}

// One registration attempt.  `db` is a pg.Client or a pg.Pool.  A rejected
// registration resolves with ok=false; a rejection of the promise means the
// call itself failed (connection lost, statement_timeout, no privilege, ...).
async function register(db, req) {
  const { rows } = await db.query(REGISTER_SQL, [
    req.username, req.password, req.name, req.email, req.usdaUid,
    req.idempotencyKey ?? null, req.locale ?? null,
  ]);
  return toRegistration(rows[0]);
}

// After these it is safe to send the same request again *when it carries an
// idempotency key*: the connection broke (we cannot know whether the
// registration committed), or the server gave up on the transaction.
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01', '57P01', '57P02', '57P03']);

function isRetryable(err) {
  const code = err && err.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    return RETRYABLE_SQLSTATES.has(code) || code.startsWith('08');
  }
  // no SQLSTATE: the connection itself failed ("Connection terminated
  // unexpectedly", ECONNRESET, EPIPE, ECONNREFUSED, ...)
  return true;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Register with retries.  `req.idempotencyKey` is required: it is what makes
// a retry safe.  If an attempt committed but its answer was lost, the retry
// gets the stored result (the same ids) instead of "username_taken".  Each
// retry uses a new client from `connect()` (an async function).  Resolves
// with { registration, client }; the caller ends the client.
async function registerWithRetry(connect, req, { attempts = 3, backoffMs = 200, onRetry, client } = {}) {
  if (!req.idempotencyKey) throw new Error('retrying a registration needs an idempotencyKey');
  for (let attempt = 1; ; attempt++) {
    try {
      if (!client) client = await connect();
      return { registration: await register(client, req), client };
    } catch (err) {
      if (!isRetryable(err) || attempt >= attempts) throw err;
      if (onRetry) onRetry(attempt, err);
      if (client) client.end().catch(() => {});
      client = null;
      await sleep(backoffMs * attempt);
    }
  }
}

// The user's id (a string) when login (username or email, any case) and
// password match, else null.
async function verifyLogin(db, login, password) {
  const { rows } = await db.query(VERIFY_SQL, [login, password]);
  return rows[0].user_id;
}

// The errors as a form would show them: each under its field, in field order;
// errors that belong to no input (idempotency_key, internal_error) first, as
// a banner.
function renderErrors(reg, indent = '  ') {
  const lines = reg.errors
    .filter((e) => !INPUT_FIELDS.includes(e.field))
    .map((e) => `${indent}[banner]  ${e.message} (${e.code})`);
  for (const f of INPUT_FIELDS) {
    for (const e of reg.errors.filter((x) => x.field === f)) {
      lines.push(`${indent}${f.padEnd(9)} ${e.message} (${e.code})`);
    }
  }
  return lines.join('\n');
}

module.exports = {
  pg, FIELDS, INPUT_FIELDS, REGISTER_SQL, register, registerWithRetry, isRetryable, verifyLogin, renderErrors,
};
