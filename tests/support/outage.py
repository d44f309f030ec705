"""Taking the database away from a console, and giving it back, as a network or a share would.

* :class:`TcpCut` stands between a console and PostgreSQL on a port of its own; ``cut()`` drops
  every connection and refuses new ones (a cable pulled, a switch down), ``restore()`` listens
  again on the same port. Only the console under test goes through it: the shared server and
  the other tests are untouched.
* :class:`SqliteShare` keeps a SQLite database in a folder that ``cut()`` renames away (a network
  share or removable disk gone) and ``restore()`` puts back.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from db.engine import Database


class TcpCut:
    """A TCP relay to ``host:port`` that can be cut and restored."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = int(probe.getsockname()[1])
        probe.close()
        self.restore()

    def url(self, url: URL | str) -> URL:
        return make_url(url).set(host="127.0.0.1", port=self.port)

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            doomed, self._sockets = self._sockets, set()
        if listener is not None:
            listener.close()
        for s in doomed:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    close = cut

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _addr = listener.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    server.close()
                    return
                self._sockets.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class SqliteShare:
    """A SQLite file in a folder that can be taken away and put back."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "share"
        self.away = root / "share-away"
        self.folder.mkdir()
        self.url = f"sqlite:///{self.folder / 'street.sqlite3'}"

    def cut(self, *databases: Database) -> None:
        for db in databases:  # open connections would keep the file: as if the share dropped them
            db.dispose()
        self.folder.rename(self.away)

    def restore(self) -> None:
        self.away.rename(self.folder)
