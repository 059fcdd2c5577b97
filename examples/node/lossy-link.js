'use strict';
// lossy-link.js -- a stand-in for a network that fails at the worst moment.
//
// It sits between the app and PostgreSQL and passes bytes both ways.  Armed
// with loseNextAnswer(), it throws away the next bytes the server sends and
// cuts both connections: the server has done the work (and committed it), the
// app gets "Connection terminated unexpectedly" instead of the answer and
// cannot tell whether the registration happened.
//
// The walkthrough uses it to show why a registration should carry an
// idempotency key.  Nothing here is needed to use farmreg.

const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

class LossyLink {
  // Forward to PostgreSQL at host (a socket directory or a TCP host) and
  // port; connect the app to link.host and link.port instead.
  constructor(host, port) {
    this.unix = host.startsWith('/');
    this.target = this.unix ? { path: path.join(host, `.s.PGSQL.${port}`) } : { host, port };
    this.answersLost = 0;
    this.lose = false;
    this.sockets = new Set();
    this.server = net.createServer((client) => this.accept(client));
    if (this.unix) {
      // libpq and pg find a unix socket as DIR/.s.PGSQL.PORT: same port, our dir
      this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lossy-link-'));
      this.host = this.dir;
      this.port = port;
      this.listenArgs = [path.join(this.dir, `.s.PGSQL.${port}`)];
    } else {
      this.host = '127.0.0.1';
      this.listenArgs = [0, '127.0.0.1'];
    }
  }

  async start() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(...this.listenArgs, resolve);
    });
    if (!this.unix) this.port = this.server.address().port;
    return this;
  }

  loseNextAnswer() {
    this.lose = true;
  }

  accept(client) {
    const server = net.connect(this.target);
    for (const s of [client, server]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {});
    }
    const hangUp = () => { client.destroy(); server.destroy(); };
    client.on('data', (data) => server.write(data));
    server.on('data', (data) => {
      if (this.lose) {
        this.lose = false;
        this.answersLost++;
        hangUp();           // drop the answer and hang up on both
        return;
      }
      client.write(data);
    });
    client.on('close', hangUp);
    server.on('close', hangUp);
  }

  async close() {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

module.exports = { LossyLink };
