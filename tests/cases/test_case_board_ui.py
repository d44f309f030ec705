"""The case board and detail, driven by keys on two workstations: a visit recorded on one appears
on the other through the change feed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import select
from support.case_world import make_case_world

from db.engine import Database
from db.models import AuditLog
from dispatch_console.cases import policy, service
from dispatch_console.cases.parties import PartyDraft, make_id_number
from dispatch_console.cases.reads import find_case, get_case
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.console import ConsoleContext
from ui.cases.board import CaseBoard
from ui.cases.forms import MediationForm, VisitForm
from ui.shell.background import BackgroundRunner
from ui.shell.context import IncidentSelection, Session, UiContext
from ui.shell.feed import QtChangeFeed

pytestmark = pytest.mark.gui
ID_OK = make_id_number("44030519900101123")


@pytest.fixture
def workstations(db: Database) -> Iterator[list[UiContext]]:
    policy.configure()
    made: list[UiContext] = []
    for station in ("值班台1", "值班台2"):
        console = ConsoleContext(Database(db.url), station, Resources())
        ui = UiContext(console=console, runner=BackgroundRunner(), feed=QtChangeFeed(console),
                       selection=IncidentSelection(), session=Session(console))
        ui.feed.start()
        made.append(ui)
    yield made
    for ui in made:
        ui.feed.stop()
        ui.runner.wait_idle(5000)
        ui.console.db.dispose()


def _activate(qtbot, widget) -> None:  # type: ignore[no-untyped-def]
    """Shortcuts go to the active window: make this workstation's the one the officer types into."""
    widget.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is widget, timeout=5000)


def _form(kind: type) -> object:
    found = [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]
    return found[-1] if found else None


def test_a_visit_recorded_by_keys_on_one_workstation_appears_on_the_other(
        qtbot, db: Database, make_actor, workstations: list[UiContext]) -> None:  # type: ignore[no-untyped-def]
    make_case_world(db)
    first, second = workstations
    li = make_actor("duty_officer", username="officer-li", station="值班台1")
    wu = make_actor("duty_officer", username="officer-wu", station="值班台2")
    first.session.set_actor(li)
    second.session.set_actor(wu)
    case_id = service.open_case(db, li, service.CaseDraft(
        kind="dispute", title="楼上漏水邻里纠纷", subtype="neighbour", grid="G1",
        parties=(PartyDraft("张三", "applicant", "13800138000", ID_OK),)))
    number = get_case(db, case_id).row.number

    boards = [CaseBoard(ui) for ui in workstations]
    for board in boards:
        qtbot.addWidget(board)
        board.resize(1400, 600)
        board.show()
    mine, theirs = boards
    qtbot.waitUntil(lambda: all(b.is_ready() and b.detail.detail is not None for b in boards), timeout=15000)
    assert mine.model.rows[0].number == number
    assert "138****8000" in mine.detail.parties.item(0).text() and ID_OK not in mine.detail.parties.item(0).text()

    # a mediation session with an agreement, by keys: Ctrl+Shift+M, type, Enter
    _activate(qtbot, mine)
    mine.detail.parties.setFocus()
    qtbot.keyClick(mine.detail.parties, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: _form(MediationForm) is not None, timeout=5000)
    form = _form(MediationForm)
    assert isinstance(form, MediationForm)
    qtbot.keyClicks(form.mediator, "Wang Tiaojie")
    form.outcome.setFocus()
    qtbot.keyClick(form.outcome, Qt.Key.Key_Down)      # mediated: agreement reached
    form.agreement.setFocus()
    qtbot.keyClicks(form.agreement, "repair within 10 days")
    form.mediator.setFocus()
    qtbot.keyClick(form.mediator, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: mine.is_ready() and mine.detail.detail is not None
                    and mine.detail.detail.row.status == "agreed", timeout=15000)
    # the other workstation sees the agreement and its two visits without doing anything
    qtbot.waitUntil(lambda: theirs.detail.detail is not None and len(theirs.detail.detail.visits) == 2,
                    timeout=15000)

    # the 7-day visit, by keys: Ctrl+Shift+V, Down to "performed", Tab, Down to "satisfied", Enter
    _activate(qtbot, mine)
    qtbot.keyClick(mine.detail.parties, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: _form(VisitForm) is not None, timeout=5000)
    visit = _form(VisitForm)
    assert isinstance(visit, VisitForm)
    qtbot.keyClick(visit.result_box, Qt.Key.Key_Down)
    assert visit.result_box.currentData() == "performed"
    visit.satisfaction.setFocus()
    qtbot.keyClick(visit.satisfaction, Qt.Key.Key_Down)
    qtbot.keyClicks(visit.note, "repaired")
    qtbot.keyClick(visit.note, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: theirs.detail.detail is not None
                    and theirs.detail.detail.visits[0].result == "performed", timeout=15000)
    assert "performed / satisfied" in theirs.detail.text.toPlainText()
    assert mine.detail.message.text() == "Follow-up visit recorded."

    # the ID number in full only on request (Ctrl+I), and that request is audited
    _activate(qtbot, theirs)
    theirs.detail.parties.setFocus()
    qtbot.keyClick(theirs.detail.parties, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: ID_OK in theirs.detail.parties.item(0).text(), timeout=10000)
    with db.read() as s:
        seen = s.execute(select(AuditLog.username).where(AuditLog.action == "privacy.reveal")).scalars().all()
    assert seen == ["officer-wu"]
    # the board's views by key: Alt+5 overdue (nothing is), Alt+1 all again
    _activate(qtbot, mine)
    mine.table.setFocus()
    qtbot.keyClick(mine.table, Qt.Key.Key_5, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: mine.is_ready() and mine.view() == "overdue" and not mine.model.rows, timeout=10000)
    qtbot.keyClick(mine.table, Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: mine.is_ready() and len(mine.model.rows) == 1, timeout=10000)


def test_the_campaign_view_shows_who_reported_and_who_is_overdue_and_reports_by_keys(
        qtbot, db: Database, make_actor, workstations: list[UiContext], tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from support.case_world import advance

    from db.engine import db_now
    from dispatch_console.cases import campaigns

    screenshot_dir = tmp_path

    make_case_world(db)
    first, second = workstations
    leader = make_actor("shift_leader", username="leader-wu", station="值班台1")
    li = make_actor("duty_officer", username="officer-li", station="值班台2")
    first.session.set_actor(leader)
    second.session.set_actor(li)
    with db.read() as s:
        due = db_now(s) + timedelta(hours=1)
    campaign_id = campaigns.start(db, leader, campaigns.CampaignDraft(title="十二月排查", due_at=due))
    campaigns.report(db, leader, campaign_id, "G2", found=("物业收费纠纷",))
    advance(db, 3601)   # G1 has not reported: overdue

    boards = [CaseBoard(ui) for ui in workstations]
    for board in boards:
        qtbot.addWidget(board)
        board.resize(1200, 500)
        board.show()
    mine, theirs = boards
    qtbot.waitUntil(lambda: all(b.is_ready() for b in boards), timeout=15000)
    for board in boards:
        _activate(qtbot, board)
        qtbot.keyClick(board.table, Qt.Key.Key_7, Qt.KeyboardModifier.AltModifier)
        assert board.view() == "campaigns"
        qtbot.waitUntil(lambda board=board: board.campaigns.table.rowCount() == 2, timeout=15000)
    panel = theirs.campaigns
    assert "十二月排查" in panel.picker.currentText() and "1/2" in panel.picker.currentText()
    texts = [[panel.table.item(r, c).text() for c in range(panel.table.columnCount())] for r in range(2)]
    assert texts[0][0] == "测试社区第1网格" and texts[0][2] == "" and texts[1][0] == "测试社区第2网格"
    assert panel.detail is not None and [x.overdue for x in panel.detail.lines] == [True, False]
    assert texts[0][1] != texts[1][1] and texts[1][3] == "leader-wu"
    panel.grab().save(str(screenshot_dir / "case_campaigns.png"))
    assert texts[1][4].startswith("TYJ-")
    assert panel.table.item(0, 1).foreground().color() != panel.table.item(1, 1).foreground().color()
    _activate(qtbot, theirs)
    panel.table.setFocus()
    panel.table.setCurrentCell(0, 0)
    qtbot.keyClick(panel.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "2/2" in mine.campaigns.picker.currentText(), timeout=15000)  # the other workstation
    qtbot.waitUntil(lambda: mine.campaigns.table.item(0, 3) is not None
                    and mine.campaigns.table.item(0, 3).text() == "李网格", timeout=15000)
    assert campaigns.get_campaign(db, campaign_id).row.complete


def test_disputes_found_are_reported_from_the_board_and_a_leader_closes_the_campaign_by_keys(
        qtbot, db: Database, make_actor, workstations: list[UiContext]) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from db.engine import db_now
    from dispatch_console.cases import campaigns
    from ui.cases.forms import CloseCampaignForm, FoundForm

    make_case_world(db)
    first, second = workstations
    li = make_actor("duty_officer", username="officer-li", station="值班台1")
    wu = make_actor("shift_leader", username="leader-wu", station="值班台2")
    first.session.set_actor(li)
    second.session.set_actor(wu)
    with db.read() as s:
        due = db_now(s) + timedelta(hours=1)
    campaign_id = campaigns.start(db, wu, campaigns.CampaignDraft(title="春节前排查", due_at=due))
    boards = [CaseBoard(ui) for ui in workstations]
    for board in boards:
        qtbot.addWidget(board)
        board.resize(1200, 500)
        board.show()
    mine, theirs = boards
    qtbot.waitUntil(lambda: all(b.is_ready() for b in boards), timeout=15000)
    for board in boards:
        _activate(qtbot, board)
        qtbot.keyClick(board.table, Qt.Key.Key_7, Qt.KeyboardModifier.AltModifier)
        qtbot.waitUntil(lambda board=board: board.campaigns.table.rowCount() == 2, timeout=15000)

    # G1's disputes found, by keys: Ctrl+D, one per line, Tab to the reporter, Enter records
    panel = mine.campaigns
    _activate(qtbot, mine)
    panel.table.setFocus()
    panel.table.setCurrentCell(0, 0)
    qtbot.keyClick(panel.table, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: _form(FoundForm) is not None, timeout=5000)
    form = _form(FoundForm)
    assert isinstance(form, FoundForm)
    qtbot.waitUntil(form.found.hasFocus, timeout=5000)  # the list first
    qtbot.keyClicks(form.found, "stairwell clutter")  # QTest types ASCII only
    qtbot.keyClick(form.found, Qt.Key.Key_Return)
    qtbot.keyClicks(form.found, "renovation noise")
    qtbot.keyClick(form.found, Qt.Key.Key_Tab)
    assert form.reporter.hasFocus()
    qtbot.keyClicks(form.reporter, "Li Wangge")
    qtbot.keyClick(form.reporter, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.is_ready() and "opened" in panel.message.text(), timeout=15000)
    d = campaigns.get_campaign(db, campaign_id)
    assert d.lines[0].state == "found" and d.lines[0].reporter == "Li Wangge" and len(d.lines[0].cases) == 2
    titles = {get_case(db, find_case(db, n)).row.title for n in d.lines[0].cases}
    assert titles == {"stairwell clutter", "renovation noise"}  # each a case, in the report's own write
    # the other workstation sees the cases opened in the campaign's table
    qtbot.waitUntil(lambda: theirs.campaigns.table.item(0, 4) is not None
                    and theirs.campaigns.table.item(0, 4).text().count("TYJ-") == 2, timeout=15000)

    # the leader closes it: Ctrl+E, Enter without a reason is refused (G2 has not reported) ...
    board = theirs.campaigns
    _activate(qtbot, theirs)
    board.table.setFocus()
    qtbot.keyClick(board.table, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: _form(CloseCampaignForm) is not None, timeout=5000)
    close = _form(CloseCampaignForm)
    assert isinstance(close, CloseCampaignForm) and "测试社区第2网格" in close.summary.text()
    qtbot.keyClick(close.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: board.is_ready() and "give a reason" in board.message.text(), timeout=15000)
    assert campaigns.get_campaign(db, campaign_id).row.closed_at is None
    # ... and taken with one
    qtbot.waitUntil(lambda: _form(CloseCampaignForm) is None, timeout=5000)
    _activate(qtbot, theirs)
    board.table.setFocus()
    qtbot.keyClick(board.table, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: _form(CloseCampaignForm) is not None, timeout=5000)
    close = _form(CloseCampaignForm)
    assert isinstance(close, CloseCampaignForm)
    qtbot.keyClicks(close.reason, "G2 adjourned to next month")
    qtbot.keyClick(close.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: campaigns.get_campaign(db, campaign_id).row.closed_at is not None, timeout=15000)
    assert campaigns.get_campaign(db, campaign_id).row.close_reason == "G2 adjourned to next month"
    qtbot.waitUntil(lambda: "closed" in panel.picker.currentText(), timeout=15000)  # the first workstation too
