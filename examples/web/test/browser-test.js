#!/usr/bin/env node
'use strict';
// browser-test.js -- the sign-up form in a real browser: Debian's Chromium
// (/usr/bin/chromium) driven by playwright-core, which never downloads a
// browser of its own.
//
//   cd examples/web && npm ci
//   FARMREG_APP_ROLE=app PGDATABASE=scratch node test/browser-test.js
//
// The PG* variables name a scratch database with farmreg and some USDA farms,
// as an operator (a superuser): the test adds its fixtures there (a user
// whose email is taken, a USDA farm whose create_farm step fails through a
// trigger) and checks results against the tables and the message catalog.
// It starts server.js itself, as the role FARMREG_APP_ROLE.  Screenshots go
// to $FARMREG_LOG_DIR/examples/ (default: log/examples/ in the repository).
//
// Output: one `ok - ...` / `not ok - ...` line per check; exit status 1 when
// a check failed or the test could not run.

const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const pg = require('pg');
const { chromium } = require('playwright-core');
const { TEXT } = require('../i18n');

const ROOT = path.resolve(__dirname, '../../..');
const OUT_DIR = path.join(process.env.FARMREG_LOG_DIR || path.join(ROOT, 'log'), 'examples');
const APP_ROLE = process.env.FARMREG_APP_ROLE || 'app';
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// Debian's Chromium as root in a closed network: no sandbox, no background
// traffic.  playwright-core adds --headless and a fresh, temporary
// --user-data-dir of its own on every launch (and removes it on close).
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
// Every password here carries the marker the harness looks for in the
// server log; the test also checks pages and the app's own log for it.
const MARKER = 'pw-SECRET';
const PASSWORD = `${MARKER}-web-1`;

let failures = 0;
let checks = 0;
function check(description, condition, detail) {
  checks++;
  if (condition) {
    console.log(`ok - ${description}`);
  } else {
    failures++;
    console.log(`not ok - ${description}`);
    if (detail !== undefined) console.log(`#   ${String(detail).split('\n').join('\n#   ')}`);
  }
  return condition;
}

// --- the database, as the operator -------------------------------------------

const db = new pg.Client();

async function copy(code, locale) {
  const { rows } = await db.query('SELECT farmreg.error_message($1, $2) AS m', [code, locale]);
  return rows[0].m;
}

async function registrationOf(username) {
  const { rows } = await db.query(`
    SELECT u.id AS user_id, fm.farm_id, fm.id AS farmer_id, fm.is_admin, f.name AS farm_name
      FROM farmreg.users u
      JOIN farmreg.farmers fm ON fm.user_id = u.id
      JOIN farmreg.farms f ON f.id = fm.farm_id
     WHERE lower(u.username) = lower($1)`, [username]);
  return rows;
}

async function fixtures() {
  const free = await db.query(`
    SELECT usda_uid FROM farmreg.usda_farms u
     WHERE NOT EXISTS (SELECT 1 FROM farmreg.farms f WHERE f.usda_farm_id = u.id)
       AND usda_uid NOT LIKE 'USDA-BOOM%'
     ORDER BY id LIMIT 4`);
  if (free.rows.length < 4) throw new Error('the database needs at least 4 unclaimed USDA farms');
  const [takenUid, ...uids] = free.rows.map((r) => r.usda_uid);
  // someone who already has the email the form will try
  const taken = await db.query(
    'SELECT ok, errors FROM farmreg.register_farm_admin($1, $2, $3, $4, $5)',
    ['web.taken', `${MARKER}-web-fixture`, 'Earlier Registrant', 'taken@web.example', takenUid]);
  if (!taken.rows[0].ok) throw new Error(`fixture registration failed: ${JSON.stringify(taken.rows[0].errors)}`);
  // a farm whose create_farm step fails inside register_farm_admin
  await db.query(`INSERT INTO farmreg.usda_farms (usda_uid, name) VALUES ('USDA-BOOM-1', 'Boom Test Farm')
                  ON CONFLICT (usda_uid) DO NOTHING`);
  await db.query(`CREATE OR REPLACE FUNCTION public.farmreg_examples_boom() RETURNS trigger
                  LANGUAGE plpgsql AS $$
                  BEGIN RAISE EXCEPTION 'simulated failure for the browser test'; END $$`);
  await db.query('DROP TRIGGER IF EXISTS farmreg_examples_boom ON farmreg.farms');
  await db.query(`CREATE TRIGGER farmreg_examples_boom BEFORE INSERT ON farmreg.farms
                  FOR EACH ROW WHEN (NEW.name = 'Boom Test Farm')
                  EXECUTE FUNCTION public.farmreg_examples_boom()`);
  return { uids };
}

// --- the server ----------------------------------------------------------------

function startServer(logFile) {
  const out = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'server.js')], {
    env: { ...process.env, PGUSER: APP_ROLE, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let seen = '';
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start; its output:\n${seen}`)), 15000);
    const onData = (buf) => {
      fs.writeSync(out, buf);
      seen += buf;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited (${code}); its output:\n${seen}`)));
  });
  return { child, url, output: () => seen };
}

// --- the page --------------------------------------------------------------------

// Fill the form through its labels (so every label must name its input).
async function fill(page, locale, values) {
  const t = TEXT[locale];
  const labels = { username: t.username, password: t.password, name: t.name, email: t.email, usda_uid: t.usdaUid };
  for (const [field, value] of Object.entries(values)) {
    await page.getByLabel(labels[field], { exact: true }).fill(value);
  }
}

async function submit(page, locale) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.request().resourceType() === 'document'),
    page.getByRole('button', { name: TEXT[locale].submit }).click(),
  ]);
  await page.waitForLoadState('load');
  return response;
}

// The text of a field's error message(s) and their codes.
async function fieldError(page, field) {
  return page.locator(`#${field}-error .message`).evaluateAll((els) => els.map((e) => ({
    code: e.dataset.code, text: e.textContent,
  })));
}

async function inputState(page, field) {
  return page.locator(`#${field}`).evaluate((el) => ({
    value: el.value,
    invalid: el.getAttribute('aria-invalid'),
    describedBy: (el.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean),
    describedByMissing: (el.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean)
      .filter((id) => !document.getElementById(id)),
    sameFieldAsError: !!el.closest('.field')?.querySelector(`#${el.id}-error`),
  }));
}

async function shot(page, name) {
  const file = path.join(OUT_DIR, name);
  await page.screenshot({ path: file, fullPage: true });
  const rel = path.relative(process.cwd(), file);
  console.log(`# screenshot: ${rel.startsWith('..') ? file : rel}`);
}

// --- the checks ------------------------------------------------------------------

async function takenEmail(page, locale, values) {
  const expected = await copy('email_already_claimed', locale);
  await page.goto(BASE);
  check(`${locale}: the form is served in ${locale} (html lang, heading)`,
    (await page.getAttribute('html', 'lang')) === locale
      && (await page.locator('h1').textContent()) === TEXT[locale].title);
  await fill(page, locale, values);
  const response = await submit(page, locale);
  check(`${locale}: a taken email is answered 422 with the form again`, response.status() === 422, response.status());
  const emailErr = await fieldError(page, 'email');
  check(`${locale}: the email field shows the catalog copy error_message('email_already_claimed', '${locale}')`,
    emailErr.length === 1 && emailErr[0].code === 'email_already_claimed' && emailErr[0].text === expected,
    JSON.stringify({ shown: emailErr, expected }));
  const email = await inputState(page, 'email');
  check(`${locale}: the error sits next to the email input and is tied to it (aria-invalid, aria-describedby)`,
    email.sameFieldAsError && email.invalid === 'true' && email.describedBy.includes('email-error')
      && email.describedByMissing.length === 0, JSON.stringify(email));
  check(`${locale}: no other field is marked invalid`,
    (await page.locator('[aria-invalid="true"]').count()) === 1);
  const summary = await page.locator('.error-summary a').evaluateAll((as) => as.map((a) => [a.getAttribute('href'), a.textContent]));
  check(`${locale}: the error summary links to the email field with the same copy`,
    summary.length === 1 && summary[0][0] === '#email' && summary[0][1] === expected, JSON.stringify(summary));
  check(`${locale}: the error summary has focus and the title says Error`,
    await page.evaluate(() => document.activeElement?.classList.contains('error-summary'))
      && (await page.title()).startsWith('Error: '), await page.title());
  const kept = {};
  for (const f of ['username', 'name', 'email', 'usda_uid', 'password']) kept[f] = (await inputState(page, f)).value;
  check(`${locale}: the entered values are kept, the password is not`,
    kept.username === values.username && kept.name === values.name && kept.email === values.email
      && kept.usda_uid === values.usda_uid && kept.password === '', JSON.stringify({ ...kept, password: kept.password ? '(not empty)' : '' }));
  check(`${locale}: the page never contains the password`, !(await page.content()).includes(MARKER));
  return expected;
}

let BASE;

async function main() {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  await db.connect();
  const { uids } = await fixtures();
  const app = await db.query('SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1', [APP_ROLE]);
  check(`the server's role ${APP_ROLE} exists and is not a superuser`, app.rows.length === 1 && !app.rows[0].rolsuper);

  const server = startServer(path.join(OUT_DIR, 'web-server.log'));
  let browser;
  try {
    BASE = await server.url;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    console.log(`# ${BASE} in Chromium ${browser.version()}`);

    // English: a fresh form, two renders, two keys
    const en = await browser.newContext({ locale: 'en-US', viewport: { width: 900, height: 900 } });
    const page = await en.newPage();
    await page.goto(BASE);
    const key1 = await page.locator('input[name="idempotency_key"]').inputValue();
    await page.reload();
    const key2 = await page.locator('input[name="idempotency_key"]').inputValue();
    check('every render of the form carries its own idempotency key',
      /^[0-9a-f-]{36}$/.test(key1) && key1 !== key2, `${key1} ${key2}`);

    // an empty form: every field's error, each next to its field, from the catalog
    const emptyResp = await submit(page, 'en');
    let allMatch = emptyResp.status() === 422;
    const detail = [];
    for (const f of ['username', 'password', 'name', 'email', 'usda_uid']) {
      const errs = await fieldError(page, f);
      const st = await inputState(page, f);
      const ok = errs.length === 1 && errs[0].text === await copy(errs[0].code, 'en')
        && st.invalid === 'true' && st.sameFieldAsError && st.describedBy.includes(`${f}-error`);
      if (!ok) allMatch = false;
      detail.push(`${f}: ${JSON.stringify(errs)} ${JSON.stringify(st)}`);
    }
    check('en: an empty form shows an error next to each of the 5 fields, each the catalog copy of its code',
      allMatch, detail.join('\n'));
    check('en: the error summary lists all 5 errors', (await page.locator('.error-summary li a').count()) === 5);
    await shot(page, 'web-en-all-errors.png');

    // English: the email is taken
    const form = { username: 'ana.ruiz', password: PASSWORD, name: 'Ana Ruiz', email: 'Taken@Web.example', usda_uid: uids[0] };
    const enCopy = await takenEmail(page, 'en', form);
    await shot(page, 'web-en-email-taken.png');

    // Spanish: a browser whose language is Spanish gets Spanish copy
    const es = await browser.newContext({ locale: 'es-ES', viewport: { width: 900, height: 900 } });
    const pageEs = await es.newPage();
    const esCopy = await takenEmail(pageEs, 'es', form);
    check('es: the Spanish copy differs from the English one', esCopy !== enCopy);
    await shot(pageEs, 'web-es-email-taken.png');

    // Spanish: fix the email, type the password again, and register
    await fill(pageEs, 'es', { email: 'ana@ruiz.example', password: PASSWORD });
    const okResp = await submit(pageEs, 'es');
    check('es: a valid registration is answered 200 with the success page',
      okResp.status() === 200 && (await pageEs.locator('h1').textContent()) === TEXT.es.successTitle);
    const shown = {
      user_id: await pageEs.locator('#user-id').textContent(),
      farm_id: await pageEs.locator('#farm-id').textContent(),
      farmer_id: await pageEs.locator('#farmer-id').textContent(),
    };
    const rows = await registrationOf('ana.ruiz');
    check('es: the ids on the page are the new user, farm and farmer in the database',
      rows.length === 1 && rows[0].is_admin && String(rows[0].user_id) === shown.user_id
        && String(rows[0].farm_id) === shown.farm_id && String(rows[0].farmer_id) === shown.farmer_id,
      JSON.stringify({ shown, database: rows }));
    console.log(`# registered ana.ruiz: user_id=${shown.user_id} farm_id=${shown.farm_id} farmer_id=${shown.farmer_id}`);
    check('es: the success page never contains the password', !(await pageEs.content()).includes(MARKER));
    await shot(pageEs, 'web-es-registered.png');

    // A double submit: the same rendered form sent twice at once (as a
    // second click does while the first answer is on its way), then once
    // more by double-clicking its button
    await page.goto(BASE);
    const double = { username: 'ben.ortiz', password: PASSWORD, name: 'Ben Ortiz', email: 'ben@ortiz.example', usda_uid: uids[1] };
    await fill(page, 'en', double);
    const key = await page.locator('input[name="idempotency_key"]').inputValue();
    const twice = await Promise.all([1, 2].map(() => en.request.post(BASE, {
      form: { ...double, idempotency_key: key }, headers: { 'Accept-Language': 'en' },
    })));
    const twiceIds = await Promise.all(twice.map(async (r) => (/id="user-id">(\d+)</.exec(await r.text()) || [])[1]));
    await page.getByRole('button', { name: TEXT.en.submit }).dblclick();
    await page.locator('#user-id').waitFor();
    const dbl = await page.locator('#user-id').textContent();
    const benRows = await registrationOf('ben.ortiz');
    check('a double submit of one form registers once: every answer shows the same ids',
      benRows.length === 1 && twice.every((r) => r.status() === 200)
        && twiceIds.every((id) => id === dbl) && String(benRows[0].user_id) === dbl,
      JSON.stringify({ concurrent: twiceIds, page: dbl, database: benRows }));
    const posts = (server.output().match(/POST \/ 200 ok user_id=\d+/g) || []).length;
    console.log(`# the server answered ${posts} successful POSTs (ana.ruiz once, ben.ortiz ${posts - 1} times)`);

    // internal_error: a step fails inside the function; its copy shows in a banner
    await page.goto(BASE);
    await fill(page, 'en', { username: 'cy.boom', password: PASSWORD, name: 'Cy Boom', email: 'cy@boom.example', usda_uid: 'USDA-BOOM-1' });
    const boomResp = await submit(page, 'en');
    const banner = await page.locator('.banner .message').evaluateAll((els) => els.map((e) => ({ code: e.dataset.code, text: e.textContent })));
    check('an internal_error shows its catalog copy in a banner (role=alert), answered 500',
      boomResp.status() === 500 && banner.length === 1 && banner[0].code === 'internal_error'
        && banner[0].text === await copy('internal_error', 'en')
        && (await page.locator('.banner[role="alert"]').count()) === 1,
      JSON.stringify({ status: boomResp.status(), banner }));
    check('the failed registration left no rows', (await registrationOf('cy.boom')).length === 0
      && (await db.query("SELECT 1 FROM farmreg.users WHERE username = 'cy.boom'")).rows.length === 0);
    await shot(page, 'web-en-internal-error.png');

    await es.close();
    await en.close();
  } finally {
    if (browser) await browser.close();
    server.child.kill('SIGTERM');
    await new Promise((resolve) => (server.child.exitCode !== null ? resolve() : server.child.on('exit', resolve)));
    await db.end();
  }
  check('the server logged no password (its log: examples/web-server.log)', !server.output().includes(MARKER));
  check('the server had no failed database call',
    !/registration call failed|database connection lost/.test(server.output()), server.output());
  const retries = (server.output().match(/retrying a registration/g) || []).length;
  if (retries) console.log(`# the server retried ${retries} registration(s) with the same key`);
}

main().then(() => {
  console.log(`# ${checks} checks, ${failures} failed`);
  process.exitCode = failures ? 1 : 0;
}, (err) => {
  console.log(`not ok - the browser test could not run: ${err.message}`);
  process.exitCode = 1;
});
