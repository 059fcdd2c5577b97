"""lossy_link -- a stand-in for a network that fails at the worst moment.

It sits between the app and PostgreSQL and passes bytes both ways.  Armed
with lose_next_answer(), it throws away the next bytes the server sends and
cuts both connections: the server has done the work (and committed it), the
app gets "server closed the connection unexpectedly" instead of the answer
and cannot tell whether the registration happened.

The walkthrough uses it to show why a registration should carry an
idempotency key.  Nothing here is needed to use farmreg.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading


class LossyLink:
    def __init__(self, host: str, port: int):
        """Forward to PostgreSQL at host (a socket directory or a TCP host)
        and port; connect the app to self.host and self.port instead."""
        self._unix = host.startswith("/")
        self._target = (os.path.join(host, f".s.PGSQL.{port}") if self._unix
                        else (host, port))
        self._dir = None
        if self._unix:
            # libpq finds a unix socket as DIR/.s.PGSQL.PORT: same port, our dir
            self._dir = tempfile.mkdtemp(prefix="lossy-link-")
            self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._listener.bind(os.path.join(self._dir, f".s.PGSQL.{port}"))
            self.host, self.port = self._dir, port
        else:
            self._listener = socket.create_server(("127.0.0.1", 0))
            self.host, self.port = "127.0.0.1", self._listener.getsockname()[1]
        self._listener.listen(8)
        self._lose = threading.Event()
        self.answers_lost = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def lose_next_answer(self) -> None:
        self._lose.set()

    def close(self) -> None:
        self._listener.close()
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return      # closed
            if self._unix:
                server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                server.connect(self._target)
            else:
                server = socket.create_connection(self._target)
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_server: bool) -> None:
        try:
            while data := src.recv(65536):
                if from_server and self._lose.is_set():
                    self._lose.clear()
                    self.answers_lost += 1
                    break           # drop the answer and hang up on both
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
