"""The queue's table model on its own: SQL order kept through live inserts, moves and removals,
lazy pages, stale results dropped, vanished rows disabled, the selection kept (no view needed)."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from support.queue_rows import T0, loaded, page, refresh, row, shown

from dispatch_console.timers.engine import Deadline
from ui.incidents.queue_model import Column, QueueModel


def test_live_changes_keep_sql_order_and_the_selection(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = loaded([row(1, 1), row(2, 3, 0), row(3, 3, 10), row(4, 4)])
    selection = QItemSelectionModel(model)
    selection.setCurrentIndex(model.index(2, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    assert model.data(selection.currentIndex(), Qt.ItemDataRole.UserRole + 1) == 3

    # a new severity-2 incident goes between 1 and 2; the selection follows incident 3
    model.apply_refresh(model.generation, refresh([row(5, 2)]))
    assert shown(model) == [1, 5, 2, 3, 4] and model.total == 5
    assert model.incident_at(selection.currentIndex().row()).id == 3

    # incident 4 is raised to severity 1: it moves up; incident 3 keeps the selection
    model.apply_refresh(model.generation, refresh([row(4, 1, -5, version=2)]))
    assert shown(model) == [4, 1, 5, 2, 3]
    assert model.incident_at(selection.currentIndex().row()).id == 3
    # the selected row itself changes status in place
    model.apply_refresh(model.generation, refresh([row(3, 3, 10, status="acknowledged", version=2)]))
    current = selection.currentIndex()
    assert model.incident_at(current.row()).status == "acknowledged"
    assert model.data(model.index(current.row(), Column.STATUS)) == "Acknowledged"

    # resolved elsewhere: no longer in the open queue, so it leaves
    model.apply_refresh(model.generation, refresh(other=[row(2, 3, 0, status="resolved")]))
    assert shown(model) == [4, 1, 5, 3] and model.total == 4


def test_vanished_and_merged_rows_stay_disabled_instead_of_crashing(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = loaded([row(1), row(2, minutes=1), row(3, minutes=2)])
    model.apply_refresh(model.generation, refresh(other=[row(2, minutes=1, status="cancelled", merged_into_id=1)],
                                                  missing={3}))
    assert shown(model) == [1, 2, 3]
    assert model.flags(model.index(1, 0)) & Qt.ItemFlag.ItemIsEnabled == Qt.ItemFlag.NoItemFlags
    assert "merged as a duplicate" in model.data(model.index(1, Column.NUMBER))
    assert "no longer exists" in model.data(model.index(2, Column.NUMBER))
    assert model.data(model.index(2, Column.NUMBER), Qt.ItemDataRole.FontRole).strikeOut()
    assert model.loaded_count == 1 and model.total == 1


def test_pages_load_lazily_and_stale_results_are_dropped(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = loaded([row(i, minutes=i) for i in range(1, 4)], total=6)
    asked: list[int] = []
    model.fetch_requested.connect(asked.append)
    assert model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    model.fetchMore(QModelIndex())  # one request at a time
    assert asked == [3]
    stale = model.generation
    fresh = model.begin_reload()  # the officer changed the filter meanwhile
    assert not model.append_page(stale, page([row(i, minutes=i) for i in range(4, 7)], 6))
    assert model.reset_to(fresh, page([row(9, 1)], 1))
    assert shown(model) == [9] and not model.canFetchMore(QModelIndex())

    model = loaded([row(i, minutes=i) for i in range(1, 4)], total=5)
    # a live insert that sorts after the loaded rows waits for its page instead of opening a gap
    model.apply_refresh(model.generation, refresh([row(10, 4)]))
    assert shown(model) == [1, 2, 3] and model.total == 6
    model.fetchMore(QModelIndex())
    assert model.append_page(model.generation, page([row(4, minutes=4), row(5, minutes=5), row(10, 4)], 6, limit=200))
    assert shown(model) == [1, 2, 3, 4, 5, 10] and not model.canFetchMore(QModelIndex())


def test_age_and_countdown_tick_from_the_database_clock(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = QueueModel()
    generation = model.begin_reload()
    due = Deadline("ack", T0 + timedelta(hours=1, minutes=2), T0)
    late = Deadline("ack", T0 + timedelta(minutes=30), T0)
    model.reset_to(generation, page([row(1), row(2, minutes=1), row(3, minutes=2, is_drill=True)], 3,
                                    {1: due, 2: late}))
    # the page said the database clock read T0+1h; the model keeps that offset locally
    age = model.data(model.index(0, Column.AGE))
    assert age in ("1h00m", "1h01m")
    assert model.data(model.index(0, Column.DEADLINE)) in ("1m", "2m")
    assert model.data(model.index(1, Column.DEADLINE)).startswith("overdue")
    amber = model.data(model.index(0, Column.DEADLINE), Qt.ItemDataRole.ForegroundRole)
    red = model.data(model.index(1, Column.DEADLINE), Qt.ItemDataRole.ForegroundRole)
    assert amber != red
    assert model.data(model.index(0, Column.CHECKLIST)) == "1/4"
    assert model.data(model.index(2, Column.NUMBER)).startswith("[DRILL]")
    assert model.data(model.index(2, Column.NUMBER), Qt.ItemDataRole.ForegroundRole) is not None
    seen: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, _r=None: seen.append((a.column(), b.column())))
    model.tick()
    assert seen == []  # nothing moved on within the same minute: no cell is set again
    model.db_offset += timedelta(minutes=10)  # ten minutes later
    model.tick()
    assert model.data(model.index(0, Column.AGE)) in ("1h10m", "1h11m")
    assert model.data(model.index(1, Column.DEADLINE)).startswith("overdue")
    assert {a for a, b in seen} == {Column.AGE, Column.DEADLINE} and all(a == b for a, b in seen)
    assert model.data(model.index(0, Column.DEADLINE), Qt.ItemDataRole.ForegroundRole) == red  # now late
    # severity colours and plain strings
    assert model.data(model.index(0, Column.SEVERITY), Qt.ItemDataRole.BackgroundRole) is not None
    assert all(isinstance(model.data(model.index(0, c)), str) for c in Column)


def test_alert_rows_flash(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = loaded([row(1, 1), row(2, 4)])
    model.set_alerts({1})
    model.flash(True)
    assert model.is_flashing(1) and not model.is_flashing(2)
    assert model.data(model.index(0, Column.AGE), Qt.ItemDataRole.BackgroundRole) is not None
    model.flash(False)
    assert model.data(model.index(0, Column.AGE), Qt.ItemDataRole.BackgroundRole) is None
    model.set_alerts(set())
    model.flash(True)
    assert not model.is_flashing(1)


def test_tooltips_are_plain_text_and_asked_only_when_shown(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = loaded([row(1, description="<b>燃气</b> 泄漏", address="平山村 <img src=x>")])
    tip = model.tooltip(0, Column.DESCRIPTION)
    assert "泄漏" in tip and "平山村" in tip
    assert "<b>" not in tip and "<img" not in tip  # shown as the characters, never as markup
    assert model.tooltip(0, Column.SEVERITY) == model.tooltip(0, Column.SEVERITY) != tip
    assert model.tooltip(5, Column.NUMBER) == ""  # no such row
    assert model.data(model.index(0, Column.DESCRIPTION), Qt.ItemDataRole.ToolTipRole) is None


# -- live changes racing the pages ----------------------------------------------------------------
# A page and a refresh are read on background threads and come back in either order. Each case
# is one ordering that, before these rules, left an open incident out of the queue for good.


def test_an_incident_refreshed_before_the_page_that_reaches_it_is_placed(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = loaded([row(i, minutes=i) for i in (1, 2, 3)], total=6)
    model.fetchMore(QModelIndex())  # the next page is being read …
    # … when incident 20 arrives: it sorts after the loaded rows, so a later page should bring it
    model.apply_refresh(model.generation, refresh([row(20, minutes=4, created_at=T0 + timedelta(minutes=4.5))]))
    assert shown(model) == [1, 2, 3]
    # but the page was read before 20 existed: the model places 20 itself
    assert model.append_page(model.generation, page([row(i, minutes=i) for i in (4, 5, 6)], 6))
    assert shown(model) == [1, 2, 3, 4, 20, 5, 6]


def test_a_stale_page_total_does_not_end_the_queue_early(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = loaded([row(i, minutes=i) for i in (1, 2, 3)], total=6)
    model.fetchMore(QModelIndex())
    model.apply_refresh(model.generation, refresh([row(7, 4)]))  # sorts after everything
    assert model.total == 7
    # the page (read before 7) counts 6: the queue must still know there is more to read
    assert model.append_page(model.generation, page([row(i, minutes=i) for i in (4, 5, 6)], 6))
    assert shown(model) == [1, 2, 3, 4, 5, 6] and model.canFetchMore(QModelIndex()) and model.total == 7
    model.fetchMore(QModelIndex())
    assert model.append_page(model.generation, page([], 7, limit=200))  # read before 7, again
    assert shown(model) == [1, 2, 3, 4, 5, 6, 7] and not model.canFetchMore(QModelIndex())
    assert model.total == 7


def test_a_page_read_before_a_change_does_not_undo_it(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = loaded([row(i, minutes=i) for i in (1, 2, 3)], total=6)
    model.fetchMore(QModelIndex())
    # 5 was resolved and 4 raised to severity 4 while the page was read; their refreshes come first
    model.apply_refresh(model.generation,
                        refresh([row(4, 4, 4, version=2)], other=[row(5, minutes=5, status="resolved")]))
    assert model.append_page(model.generation, page([row(i, minutes=i) for i in (4, 5, 6)], 6, limit=200))
    assert shown(model) == [1, 2, 3, 6, 4]
    assert model.incident_at(4).severity == 4 and model.total == 5


def test_a_change_that_comes_before_the_first_page_of_a_new_filter_is_kept(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = loaded([row(1)])
    generation = model.begin_reload()  # the officer changed the filter; its first page is read …
    assert model.apply_refresh(generation, refresh([row(9, 2)]))  # … and 9 arrives, read later
    assert shown(model) == [1]  # the old filter's rows are not mixed with the new one's
    assert model.reset_to(generation, page([row(2, 1), row(3, 3)], 2))  # read before 9 existed
    assert shown(model) == [2, 9, 3] and model.total == 3


def test_a_failed_first_page_does_not_stop_live_changes(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = loaded([row(1)])
    generation = model.begin_reload()
    model.apply_refresh(generation, refresh([row(9, 2)]))  # held for the page …
    model.fetch_failed(generation)  # … that never comes (the database was unreachable)
    assert shown(model) == [9, 1]  # what was held is applied to the rows still shown
    model.apply_refresh(generation, refresh([row(10, 4)]))
    assert shown(model) == [9, 1, 10] and not model.fetching
