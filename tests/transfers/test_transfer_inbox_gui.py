"""pytest-qt: an incoming transfer appears in its dock; the officer accepts one and refuses another by keyboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select
from support.qt_input import type_chinese
from support.two_rooms import two_rooms
from support.world import isolated_settings, workstations  # noqa: F401

from db.engine import Database
from db.models import Incident
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.i18n import set_language
from dispatch_console.transfers import service
from ui.transfers.inbox import TransferInboxPanel


def test_accept_and_refuse_by_keyboard(qtbot: Any, db: Database, db_url: str, backend: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch, workstations: Any) -> None:  # noqa: F811
    with two_rooms(db, db_url, backend, tmp_path) as (taoyuan, district):
        ids = [taoyuan.street.report("交界处燃气泄漏", category="work_safety", severity=1),
               taoyuan.street.report("外区商户占道经营", category="city_management")]
        with taoyuan.db.read() as s:
            numbers = [s.execute(select(Incident.number).where(Incident.id == i)).scalar_one() for i in ids]
        for number in numbers:
            service.send(taoyuan.db, taoyuan.street.officer, number, "district", cfg=taoyuan.cfg)
        monkeypatch.setenv("DISPATCH_CONFIG_DIR", str(district.config_dir))  # the district console's config
        set_language("zh_CN")
        ws = workstations(district.db, district.street.officer)
        panel = TransferInboxPanel(ws.ui, ws.host)
        panel.setFloating(False)
        ws.show()
        panel.show()
        service.poll(district.db, "区值班台1", district.cfg)  # what the timer engine's companion does
        panel.reload()
        qtbot.waitUntil(lambda: panel.list.count() == 2, timeout=15000)
        assert all("待处理" in panel.list.item(i).text() for i in range(2))
        assert "收到的移交（2）" in panel.windowTitle() or "(2)" in panel.windowTitle()

        panel.list.setFocus()
        panel.list.setCurrentRow([r.sender_number for r in panel.rows].index(numbers[0]))
        qtbot.keyClick(panel.list, "a")
        assert panel.chosen == "accept"
        qtbot.keyClick(panel.list, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: any(r.status == "accepted" for r in panel.rows), timeout=15000)

        panel.list.setCurrentRow([r.sender_number for r in panel.rows].index(numbers[1]))
        qtbot.keyClick(panel.list, "n")
        assert panel.note.hasFocus()
        type_chinese(panel.note, "不属本区管辖")
        qtbot.keyClick(panel.note, Qt.Key.Key_Return)
        assert panel.list.hasFocus()
        qtbot.keyClick(panel.list, "r")
        assert panel.chosen == "refuse"
        qtbot.keyClick(panel.list, Qt.Key.Key_Escape)
        assert panel.chosen is None  # thought again: nothing sent
        qtbot.keyClick(panel.list, "r")
        qtbot.keyClick(panel.list, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: any(r.status == "refused" for r in panel.rows), timeout=15000)

        by_number = {r.sender_number: r for r in service.inbox(district.db, cfg=district.cfg)}
        assert by_number[numbers[0]].status == "accepted" and by_number[numbers[0]].receiver_number
        assert (by_number[numbers[1]].status, by_number[numbers[1]].reason) == ("refused", "不属本区管辖")
        service.poll(taoyuan.db, "值班台1", taoyuan.cfg)
        out = {r.sender_number: r.status for r in service.transfers(taoyuan.db, direction="out", cfg=taoyuan.cfg)}
        assert out == {numbers[0]: "accepted", numbers[1]: "refused"}
        ws.close()


def test_keys_are_disabled_with_the_reason_for_who_may_not_decide(
        qtbot: Any, db: Database, db_url: str, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        workstations: Any) -> None:  # noqa: F811
    with two_rooms(db, db_url, backend, tmp_path) as (taoyuan, district):
        incident_id = taoyuan.street.report("外区商户占道经营", category="city_management")
        with taoyuan.db.read() as s:
            number = s.execute(select(Incident.number).where(Incident.id == incident_id)).scalar_one()
        service.send(taoyuan.db, taoyuan.street.officer, number, "district", cfg=taoyuan.cfg)
        service.poll(district.db, "区值班台1", district.cfg)
        monkeypatch.setenv("DISPATCH_CONFIG_DIR", str(district.config_dir))
        set_language("zh_CN")
        observer = Actor(user_id=None, username="guest", role="observer", station="ws", display_name="访客")
        ws = workstations(district.db, observer)
        panel = TransferInboxPanel(ws.ui, ws.host)
        panel.setFloating(False)
        ws.show()
        panel.show()
        qtbot.waitUntil(lambda: panel.list.count() == 1, timeout=15000)
        assert "无权接收或拒收其他值班室的移交" in panel.hint.text()  # said before a key is pressed
        panel.list.setFocus()
        qtbot.keyClick(panel.list, "a")
        assert panel.chosen is None and "无权接收或拒收其他值班室的移交" in panel.hint.text()
        qtbot.keyClick(panel.list, Qt.Key.Key_Return)
        assert service.inbox(district.db, cfg=district.cfg)[0].status == "pending"
        ws.close()
