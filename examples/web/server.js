#!/usr/bin/env node
'use strict';
// server.js -- NomNomsFarm's farm-admin sign-up form on farmreg.
//
//   cd examples/web && npm ci
//   PGDATABASE=... PGUSER=app node server.js        # http://127.0.0.1:3000/
//
// A plain node:http server (no framework) on 127.0.0.1 (PORT, default 3000;
// 0 picks a free one; the chosen address is printed).  The database comes
// from libpq's environment variables (PGHOST, PGPORT, PGDATABASE, PGUSER,
// PGPASSWORD, ...), as a role that may EXECUTE farmreg.register_farm_admin.
//
//   GET  /            the form, with a fresh idempotency key in a hidden field
//   POST /            register_farm_admin(...) with parameters; the form
//                     again with each field's error next to it (422), a
//                     banner for errors of no field (internal_error: 500), or
//                     the success page with the new ids (200)
//   GET  /style.css
//
// The language (en or es) comes from Accept-Language and is passed to the
// function, which answers with catalog copy in that language.  A double
// submit of one rendered form carries the same key, so it registers once and
// both answers show the same ids.  The password is never written into a page
// and never logged; the log has one line per request: method, path, status,
// outcome codes, time; no field values.

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');
const pg = require('pg');
const { TEXT, negotiate } = require('./i18n');
const { INPUT_FIELDS, formPage, successPage } = require('./views');

const HOST = '127.0.0.1';
const PORT = Number(process.env.PORT ?? 3000);
const MAX_BODY = 64 * 1024;
const CSS = fs.readFileSync(path.join(__dirname, 'style.css'));

// Columns named one by one: registration_result may gain columns at its end.
const REGISTER_SQL = `
  SELECT ok, user_id, farm_id, farmer_id, error_code, failed_step, message, errors
    FROM farmreg.register_farm_admin($1, $2, $3, $4, $5, $6, $7)`;

const pool = new pg.Pool({ max: 4, idleTimeoutMillis: 10000 });
// An idle client's connection broke: the pool drops it; log the reason only.
pool.on('error', (err) => log(`database connection lost: ${err.message}`));

function log(line) {
  console.log(`${new Date().toISOString()} ${line}`);
}

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; style-src 'self'; form-action 'self'; "
    + "frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

function send(res, status, body, type = 'text/html; charset=utf-8', extra = {}) {
  res.writeHead(status, { 'Content-Type': type, ...SECURITY_HEADERS, ...extra });
  res.end(body);
}

function sendPage(res, status, locale, html) {
  // no-store: "back" shows a fresh form with a new key, not a cached one
  send(res, status, html, 'text/html; charset=utf-8',
    { 'Content-Language': locale, Vary: 'Accept-Language', 'Cache-Control': 'no-store' });
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(Object.assign(new Error('request body too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// A failed call (not a rejected registration) that is safe to repeat with the
// same idempotency key: the connection broke, or the transaction was
// cancelled for a serialization failure / deadlock / admin shutdown.
function retryable(err) {
  const code = err && err.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    return ['40001', '40P01', '57P01', '57P02', '57P03'].includes(code) || code.startsWith('08');
  }
  return true;
}

async function registerFarmAdmin(input, locale) {
  const params = [input.username, input.password, input.name, input.email, input.usda_uid,
    input.idempotency_key, locale];
  for (let attempt = 1; ; attempt++) {
    try {
      const { rows } = await pool.query(REGISTER_SQL, params);
      return rows[0];
    } catch (err) {
      // Without a key a retry could register twice (or report the first
      // attempt's own rows as "taken"): only retry with one.
      if (attempt >= 2 || !input.idempotency_key || !retryable(err)) throw err;
      log(`retrying a registration after: ${err.code || ''} ${err.message}`);
    }
  }
}

async function handleRegister(req, res, locale) {
  const type = String(req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    send(res, 415, 'Unsupported Media Type\n', 'text/plain; charset=utf-8');
    return 'unsupported-media-type';
  }
  const form = new URLSearchParams(await readBody(req));
  const input = {};
  for (const f of [...INPUT_FIELDS, 'idempotency_key']) input[f] = form.get(f);
  // An empty key means "none"; NULL arguments are blank fields to farmreg.
  if (!input.idempotency_key) input.idempotency_key = null;

  const values = { ...input };
  delete values.password;                 // never echoed back
  const freshKey = crypto.randomUUID();   // every rendered form gets its own

  let r;
  try {
    r = await registerFarmAdmin(input, locale);
  } catch (err) {
    // err.message only: node-postgres errors never carry the parameters
    log(`registration call failed: ${err.code || 'no sqlstate'} ${err.message}`);
    sendPage(res, 503, locale, formPage({ locale, key: freshKey, values, banner: TEXT[locale].unavailable }));
    return 'unavailable';
  }
  if (r.ok) {
    sendPage(res, 200, locale, successPage({ locale, name: (input.name || '').trim(), registration: r }));
    return `ok user_id=${r.user_id} farm_id=${r.farm_id} farmer_id=${r.farmer_id}`;
  }
  const internal = r.errors.some((e) => e.code === 'internal_error');
  sendPage(res, internal ? 500 : 422, locale, formPage({ locale, key: freshKey, values, errors: r.errors }));
  return `${r.failed_step}: ${r.errors.map((e) => e.code + (e.sqlstate ? `(${e.sqlstate})` : '')).join(',')}`;
}

async function handle(req, res) {
  const url = new URL(req.url, `http://${HOST}`);
  const locale = negotiate(req.headers['accept-language']);
  if (url.pathname === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
    sendPage(res, 200, locale, formPage({ locale, key: crypto.randomUUID() }));
    return 'form';
  }
  if (url.pathname === '/' && req.method === 'POST') {
    return handleRegister(req, res, locale);
  }
  if (url.pathname === '/style.css' && req.method === 'GET') {
    send(res, 200, CSS, 'text/css; charset=utf-8', { 'Cache-Control': 'max-age=300' });
    return 'css';
  }
  if (url.pathname === '/' || url.pathname === '/style.css') {
    send(res, 405, 'Method Not Allowed\n', 'text/plain; charset=utf-8', { Allow: 'GET, POST' });
    return 'method-not-allowed';
  }
  send(res, 404, 'Not Found\n', 'text/plain; charset=utf-8');
  return 'not-found';
}

const server = http.createServer((req, res) => {
  const started = process.hrtime.bigint();
  handle(req, res).then((outcome) => outcome, (err) => {
    if (!res.headersSent) {
      send(res, err.status || 500, `${http.STATUS_CODES[err.status || 500]}\n`, 'text/plain; charset=utf-8');
    }
    return `error: ${err.message}`;
  }).then((outcome) => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // path only, never the query string or the body
    log(`${req.method} ${new URL(req.url, `http://${HOST}`).pathname} ${res.statusCode} ${outcome} ${ms.toFixed(1)}ms`);
  });
});

server.listen(PORT, HOST, () => {
  const { port } = server.address();
  console.log(`farmreg sign-up form listening on http://${HOST}:${port}/`);
});

function shutdown() {
  server.close();
  pool.end().finally(() => process.exit(0));
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
