"""The status bar's "channel down" warning follows the database state (pytest-qt, offscreen)."""

from __future__ import annotations

from db.engine import Database, db_now
from dispatch_console.channels import state as channel_state
from ui.channels.status import ChannelDownLabel
from ui.shell.background import BackgroundRunner


def _result(db: Database, channel: str, ok: bool) -> None:
    with db.write() as s:
        channel_state.note_result(s, channel, db_now(s), ok=ok, error=None if ok else "errcode -1 system busy",
                                  down_after=3)


def test_a_failing_channel_shows_as_down_until_it_works_again(qtbot, db: Database) -> None:  # type: ignore[no-untyped-def]
    runner = BackgroundRunner()
    label = ChannelDownLabel(runner, lambda: channel_state.down_channels(db), refresh_ms=3_600_000)
    qtbot.addWidget(label)
    qtbot.waitUntil(lambda: runner.pending == 0)
    assert label.isHidden()
    for _ in range(2):
        _result(db, "wecom_duty", ok=False)
    label.refresh()
    qtbot.waitUntil(lambda: runner.pending == 0)
    assert label.isHidden()  # two failures are not yet "down"
    _result(db, "wecom_duty", ok=False)
    label.refresh()
    qtbot.waitUntil(lambda: not label.isHidden())
    assert label.text().startswith("⚠ Channel down: wecom_duty since ")
    assert "3 failures in a row" in label.toolTip() and "system busy" in label.toolTip()
    _result(db, "wecom_duty", ok=True)
    label.refresh()
    qtbot.waitUntil(label.isHidden)
    assert label.text() == ""
    runner.wait_idle()
