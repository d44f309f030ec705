"""pytest-qt: the supplies and shelters dock — below-minimum marked, live refresh, F8 finds the nearest shelter."""

from __future__ import annotations

import support.world as support
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from support.world import make_world

from db.engine import Database
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.supplies.shelters import add_shelter, set_status
from dispatch_console.supplies.stock import add_depot, load_catalogue, move
from ui.supplies.panel import SuppliesPanel

isolated_settings = support.isolated_settings
workstations = support.workstations


def test_the_dock_marks_low_stock_follows_other_consoles_and_f8_picks_the_nearest_shelter(
        qtbot, db: Database, workstations) -> None:  # type: ignore[no-untyped-def]
    world = make_world(db)
    system = Actor.system("test")
    catalogue = load_catalogue(Resources())[0]
    add_depot(db, system, code="D1", name="测试社区应急物资储备点")
    move(db, system, catalogue, kind="receive", depot="D1", item="沙袋", quantity=150)   # below 200
    move(db, system, catalogue, kind="receive", depot="D1", item="抽水泵", quantity=5)
    places = (("S1", "远处避难场所", 113.95), ("S2", "近处避难场所", 113.906), ("S3", "关闭的避难场所", 113.905))
    for code, name, lon in places:
        add_shelter(db, system, code=code, name=name, capacity=50, lon=lon, lat=22.505)
    for code in ("S1", "S2"):
        set_status(db, system, code, "open")
    incident = world.record("低洼处群众需转移", category="natural_disaster", grid="G1")

    a = workstations(db, world.officers[0], window=True, panels=("SuppliesPanel",))
    a.show()
    a.settle()
    panel = next(d for d in a.window.findChildren(SuppliesPanel))
    qtbot.waitUntil(lambda: panel.is_ready() and panel.stock_model.rowCount() == 2
                    and panel.shelter_model.rowCount() == 3, timeout=10000)
    rows = {panel.stock_model.item(r, 1).text(): r for r in range(2)}
    low = panel.stock_model.item(rows["沙袋"], 2)
    fine = panel.stock_model.item(rows["抽水泵"], 2)
    assert low.foreground().color() != fine.foreground().color()  # below the minimum: red

    # another officer issues sandbags at another workstation: this dock follows
    move(db, world.officers[1], catalogue, kind="issue", depot="D1", item="沙袋", quantity=30,
         incident=incident.number)
    qtbot.waitUntil(lambda: panel.stock_model.item(rows["沙袋"], 2).text() == "120", timeout=15000)

    a.ui.selection.select(incident.id)
    a.window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is a.window, timeout=5000)
    qtbot.keyClick(a.window, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: "近处避难场所" in panel.message.text(), timeout=10000)
    assert panel.message.text().index("近处避难场所") < panel.message.text().index("远处避难场所")
    assert "关闭的避难场所" not in panel.message.text()
    selected = panel.selected_shelter()
    assert selected is not None and selected.code == "S2"
