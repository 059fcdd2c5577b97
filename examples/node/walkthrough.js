#!/usr/bin/env node
'use strict';
// walkthrough.js -- farmreg from Node.js, step by step.
//
//   cd examples/node && npm ci
//   FARMREG_EXAMPLE_PASSWORD=... node walkthrough.js USDA_UID USDA_UID
//
// Connects with libpq's environment variables (PGHOST, PGPORT, PGDATABASE,
// PGUSER, ...) as an app role that may EXECUTE farmreg.register_farm_admin
// and farmreg.verify_password, and needs two unclaimed USDA ids from
// farmreg.usda_farms.  The password comes from FARMREG_EXAMPLE_PASSWORD; it
// is never printed.
//
//   1. register a farm admin and read the registration_result
//   2. render every field error (English and Spanish, then the database checks)
//   3. lose the answer to a registration on a dropped connection, reconnect,
//      and retry with the same idempotency key: the same ids
//   4. verify a login

const crypto = require('crypto');
const { pg, register, registerWithRetry, renderErrors, verifyLogin } = require('./farmreg');
const { LossyLink } = require('./lossy-link');

const ids = (r) => `user_id=${r.userId} farm_id=${r.farmId} farmer_id=${r.farmerId}`;
const sameIds = (a, b) => a.userId === b.userId && a.farmId === b.farmId && a.farmerId === b.farmerId;

// Each registration runs in its own transaction (no BEGIN around it), so it
// has committed by the time its answer is sent.
async function connect(overrides = {}) {
  const client = new pg.Client(overrides);   // the rest from PG* variables
  // A broken connection is reported on the pending query too; without a
  // listener, this 'error' event would end the process.
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function main() {
  const usdaUids = process.argv.slice(2);
  if (usdaUids.length !== 2) {
    console.error('usage: node walkthrough.js USDA_UID USDA_UID   (two unclaimed USDA ids)');
    return 2;
  }
  const password = process.env.FARMREG_EXAMPLE_PASSWORD;
  if (!password) {
    console.error('set FARMREG_EXAMPLE_PASSWORD (8 characters or more)');
    return 2;
  }

  const client = await connect();
  try {
    return await walkthrough(client, usdaUids, password);
  } finally {
    await client.end();
  }
}

async function walkthrough(client, usdaUids, password) {
  const who = await client.query('SELECT current_user AS u, current_database() AS d');
  console.log(`farmreg from Node.js ${process.version}: pg ${require('pg/package.json').version}, ` +
              `as role ${who.rows[0].u} on database ${who.rows[0].d}`);

  // -- 1 ---------------------------------------------------------------------
  console.log('\n== 1. Register a farm admin ==');
  const maria = {
    username: 'maria.lopez', password, name: 'María López', email: 'maria@greenacres.example',
    usdaUid: usdaUids[0], idempotencyKey: `signup-${crypto.randomUUID()}`,
  };
  let reg = await register(client, maria);
  if (!reg.ok) {
    console.log(`registration failed at step ${reg.failedStep}:\n${renderErrors(reg)}`);
    return 1;
  }
  console.log(`registered: ${ids(reg)} (${maria.username}, ${maria.usdaUid})`);
  let again = await register(client, maria);
  console.log(`same request, same idempotency key: ${ids(again)} ` +
              `(${sameIds(again, reg) ? 'the same ids, nothing written twice' : 'DIFFERENT'})`);

  // -- 2 ---------------------------------------------------------------------
  console.log('\n== 2. Field errors, rendered next to their fields ==');
  const bad = {
    username: 'x', password: 'short', name: '   ', email: 'not-an-email', usdaUid: '',
    idempotencyKey: 'line\nbreak',
  };
  for (const locale of ['en', 'es-MX']) {
    reg = await register(client, { ...bad, locale });
    console.log(`every field wrong (locale ${locale}): ok=${reg.ok} failed_step=${reg.failedStep} ` +
                `error_code=${reg.errorCode}, ${reg.errors.length} errors`);
    console.log(renderErrors(reg));
  }
  reg = await register(client, {
    ...maria, password: `${password}-other`, idempotencyKey: null, email: 'MARIA@GreenAcres.example',
  });
  console.log(`already taken (database lookups): ${reg.errors.length} errors`);
  console.log(renderErrors(reg));

  // -- 3 ---------------------------------------------------------------------
  console.log('\n== 3. The connection drops before the answer arrives ==');
  const link = await new LossyLink(client.host, client.port).start();
  const viaLink = () => connect({ host: link.host, port: link.port });
  const sam = {
    username: 'sam.green', password, name: 'Sam Green', email: 'sam@sunnyside.example',
    usdaUid: usdaUids[1], idempotencyKey: `signup-${crypto.randomUUID()}`,
  };
  const first = await viaLink();
  link.loseNextAnswer();
  const { registration, client: retryClient } = await registerWithRetry(viaLink, sam, {
    client: first,
    onRetry: (attempt, err) => {
      console.log(`attempt ${attempt}: no answer: ${err.message}`);
      console.log('   the registration may or may not have committed; ' +
                  'retrying on a new connection with the same idempotency key');
    },
  });
  console.log(`retried: ${ids(registration)}`);
  again = await register(retryClient, sam);
  console.log(`retried again: ${ids(again)} (${sameIds(again, registration) ? 'the same ids' : 'DIFFERENT'})`);
  const naive = await register(retryClient, { ...sam, idempotencyKey: null });
  console.log(`the same retry without the key: ${naive.errors.map((e) => e.code).join(', ')}` +
              ' -- the lost attempt had committed');
  await retryClient.end();
  await link.close();

  // -- 4 ---------------------------------------------------------------------
  console.log('\n== 4. Verify a login ==');
  for (const [label, login, pw] of [
    ['username, right password', 'maria.lopez', password],
    ['email in another case, right password', 'MARIA@GREENACRES.EXAMPLE', password],
    ['username, wrong password', 'maria.lopez', `${password}-wrong`],
    ['unknown login', 'nobody.here', password],
  ]) {
    const userId = await verifyLogin(client, login, pw);
    console.log(`login ${label}: ${userId ? `user_id=${userId}` : 'no match'}`);
  }
  return 0;
}

main().then((rc) => { process.exitCode = rc; }, (err) => {
  // the message only: a stack or a query's parameters could carry the password
  console.error(`error: ${err.message}`);
  process.exitCode = 1;
});
