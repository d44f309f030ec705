"""The alarm for serious new incidents: sound and flashing until somebody acknowledges them.

The database decides: a severity 1–2 incident that is still ``new`` is alerting, at every
workstation, whichever filter the queue shows. The list is read once (off the GUI thread) and
then kept from the rows of the changed incidents that the console's change router reads for
every view, so an acknowledgement at any workstation silences every console without a read of
its own.
The bundled ``resources/sounds/alert.wav`` plays through QtMultimedia when it is available; a
machine without an audio device or multimedia libraries falls back to the system beep and never
fails because of sound.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from importlib import resources as importlib_resources
from typing import Any

from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtWidgets import QApplication

from dispatch_console.incidents import ChangedIncidents, PendingAlert, alert_of, pending_alerts
from dispatch_console.kernel.change_kinds import Entity
from ui.shell import settings
from ui.shell.context import UiContext

log = logging.getLogger(__name__)

_EARLIEST = datetime.min.replace(tzinfo=UTC)
FLASH_MS = 600
REPEAT_SOUND_MS = 20_000


def alert_wav_path() -> str:
    return str(importlib_resources.files("resources") / "sounds" / "alert.wav")


class AlertSound:
    """Plays the alert WAV; never raises (no audio device, no multimedia libraries …)."""

    def __init__(self) -> None:
        self.played = 0
        self.volume = 0.9  # 0 … 1 (Console → Settings: alerts/volume)
        self._effect: Any = None
        self._tried = False

    def _load(self) -> Any:
        if not self._tried:
            self._tried = True
            try:
                from PySide6.QtMultimedia import QSoundEffect

                effect = QSoundEffect()
                effect.setSource(QUrl.fromLocalFile(alert_wav_path()))
                effect.setVolume(0.9)
                self._effect = effect
            except Exception as exc:  # ImportError (no libpulse …) or a backend failure
                log.info("alert sound unavailable, using the system beep: %s", exc)
        return self._effect

    def play(self) -> None:
        self.played += 1
        try:
            effect = self._load()
            if effect is not None and effect.status() != effect.Status.Error:
                effect.setVolume(self.volume)
                effect.play()
            else:
                QApplication.beep()
        except Exception:
            log.exception("alert sound failed")


class AlertController(QObject):
    """Keeps the list of alerting incidents; ``changed`` carries them, ``flash`` toggles on/off."""

    changed = Signal(tuple)  # tuple[PendingAlert, ...]
    flash = Signal(bool)

    def __init__(self, ui: UiContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        self.sound = AlertSound()
        self.rows: tuple[PendingAlert, ...] = ()
        self._loading = False
        self._again = False
        self._flash_on = False
        self._flash = QTimer(self)
        self._flash.setInterval(FLASH_MS)
        self._flash.timeout.connect(self._toggle)
        self._repeat = QTimer(self)
        self._repeat.setInterval(REPEAT_SOUND_MS)
        self._repeat.timeout.connect(self._ring)
        ui.router.on_rows(self._on_rows)
        ui.router.on_changes({Entity.DATABASE}, lambda _changes: self.refresh())

    @property
    def ids(self) -> set[int]:
        return {r.id for r in self.rows}

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def flashing(self) -> bool:
        return self._flash.isActive()

    def refresh(self) -> None:
        if self._loading:
            self._again = True
            return
        self._loading = True
        db = self.ui.console.db
        self.ui.runner.run(lambda: pending_alerts(db), on_success=self._apply, on_failure=self._failed)

    def _on_rows(self, batch: ChangedIncidents, _tag: object) -> None:
        """Keep the list from the changed incidents' rows: no read of its own."""
        if self._loading:  # the list being read may be older than these rows: read it once more
            self._again = True
            return
        alerts = {r.id: r for r in self.rows}
        for incident_id in batch.ids:
            row = batch.row(incident_id)
            alert = alert_of(row) if row is not None else None
            if alert is not None:
                alerts[incident_id] = alert
            else:
                alerts.pop(incident_id, None)
        rows = tuple(sorted(alerts.values(), key=lambda a: (a.created_at or _EARLIEST, a.id)))
        if rows != self.rows:
            self._show(rows)

    def _failed(self, exc: BaseException) -> None:
        self._loading = False
        log.warning("could not read the pending alerts: %s", exc)

    def _apply(self, rows: tuple[PendingAlert, ...]) -> None:
        self._loading = False
        self._show(rows)
        if self._again:
            self._again = False
            self.refresh()

    def _show(self, rows: tuple[PendingAlert, ...]) -> None:
        new = {r.id for r in rows} - self.ids
        self.rows = tuple(rows)
        if rows:
            if not self._flash.isActive():
                self._flash.start()
                self._repeat.start()
            if new:
                self._ring()
        else:
            self._flash.stop()
            self._repeat.stop()
            self._flash_on = False
            self.flash.emit(False)
        self.changed.emit(self.rows)

    def _ring(self) -> None:
        if settings.get("alerts/sound"):
            self.sound.volume = max(0, min(100, int(settings.get("alerts/volume")))) / 100
            self.sound.play()

    def _toggle(self) -> None:
        self._flash_on = not self._flash_on
        self.flash.emit(self._flash_on)

    def stop(self) -> None:
        self._flash.stop()
        self._repeat.stop()
