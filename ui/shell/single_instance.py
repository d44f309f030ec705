"""One console per station and user on a machine: a second start brings the first window forward.

A duty officer who double-clicks the icon again (the window is behind the map on the second
monitor, or minimised) must not get a second console with its own timer engine, change feed and
sign-in. The first console listens on a local socket (QLocalServer: a named pipe on Windows, a
socket file on Linux) whose name comes from the station, the console's user (``--user``) and the
operating-system account; a second start connects to it, asks it to come forward, and exits.
"""

from __future__ import annotations

import getpass
import hashlib
import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

CONNECT_MS = 1000
RAISE = b"raise\n"


def server_name(station: str, user: str | None) -> str:
    """A name safe for a pipe or socket file, the same for the same station, user and OS account."""
    try:
        account = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without /etc/passwd entry)
        account = ""
    digest = hashlib.sha256("\x1f".join((station, user or "", account)).encode("utf-8")).hexdigest()[:16]
    return f"dispatch-console-{digest}"


class SingleInstance(QObject):
    """``claim()`` is True for the first console; ``activated`` fires when another start asks."""

    activated = Signal()

    def __init__(self, station: str, user: str | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = server_name(station, user)
        self.server: QLocalServer | None = None

    def ask_first_to_come_forward(self) -> bool:
        """True if a console already runs here (and was asked to show itself)."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(CONNECT_MS):
            return False
        socket.write(RAISE)
        socket.flush()
        socket.waitForBytesWritten(CONNECT_MS)
        socket.disconnectFromServer()
        return True

    def claim(self) -> bool:
        """Become the console of this station and user, unless one already runs (then False)."""
        if self.ask_first_to_come_forward():
            return False
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)  # only this OS account
        if not server.listen(self.name):
            QLocalServer.removeServer(self.name)  # a socket file left by a console that crashed
            if not server.listen(self.name):
                log.warning("cannot listen on %s: %s; a second console will not be noticed",
                            self.name, server.errorString())
                return True
        server.newConnection.connect(self._on_connection)
        self.server = server
        return True

    def _on_connection(self) -> None:
        # The server owns the sockets it accepts (they are its children, gone with it). No slot
        # holds a socket: a lambda keeping its Python wrapper, dropped while Qt destroys the
        # socket (deleteLater on disconnect), crashed the process in ~QObject. The socket that
        # sent is read in ``_on_ready`` as the signal's sender, and told to disconnect.
        server = self.server
        while server is not None and server.hasPendingConnections():
            socket = server.nextPendingConnection()
            if socket is None:
                return
            socket.readyRead.connect(self._on_ready)
            if socket.bytesAvailable():
                self._read(socket)

    def _on_ready(self) -> None:
        socket = self.sender()
        if isinstance(socket, QLocalSocket):
            self._read(socket)

    def _read(self, socket: QLocalSocket) -> None:
        message = bytes(socket.readAll().data())
        socket.disconnectFromServer()
        if message.startswith(RAISE.strip()):
            self.activated.emit()

    def release(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server.deleteLater()  # and the sockets it accepted, outside any of their signals
            self.server = None


def bring_forward(window: object) -> None:
    """Show the window on top, restored if it was minimised (the second start's request)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QWidget

    if not isinstance(window, QWidget):
        return
    if window.isMinimized():
        window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
    window.show()
    window.raise_()
    window.activateWindow()
