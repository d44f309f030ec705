"""The permission matrix, enforced in the services whoever calls them (console, CLI, script)."""

from __future__ import annotations

from typing import Any

import pytest

from db.engine import Database
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.kernel import audit, i18n
from dispatch_console.kernel.errors import PermissionDenied
from dispatch_console.kernel.permissions import ACTION_LABELS, MATRIX, ROLES, allowed, require
from dispatch_console.users import accounts as users

NON_ADMIN = ("observer", "duty_officer", "shift_leader", "director", "drill_director", "integration")
DRAFT = IncidentDraft(category="dispute", severity=3, source="grid_staff", description="邻里噪音纠纷")


def test_every_role_has_a_row_and_every_action_a_translated_label() -> None:
    assert set(MATRIX) == set(ROLES)
    used = set().union(*MATRIX.values())
    assert used <= set(ACTION_LABELS), used - set(ACTION_LABELS)
    catalog = i18n.load_catalog("zh_CN")
    assert all(ACTION_LABELS[a] in catalog for a in used)
    assert all(label in catalog for label in ROLES.values())


def test_the_shape_of_the_matrix() -> None:
    assert MATRIX["integration"] == {"incident.create"}
    assert MATRIX["observer"] == {"console.sign_in"}
    for admin_only in ("users.manage", "audit.verify", "db.admin"):
        assert {r for r in ROLES if admin_only in MATRIX[r]} == {"admin"}
    assert MATRIX["duty_officer"] < MATRIX["shift_leader"] <= MATRIX["director"]
    assert "handover.sign" not in MATRIX["duty_officer"]
    assert "drill.run" in MATRIX["drill_director"] and "drill.run" not in MATRIX["shift_leader"]


@pytest.mark.parametrize("role", NON_ADMIN)
def test_only_administrators_manage_users(db: Database, make_actor: Any, role: str) -> None:
    make_actor("admin", "root")
    actor = make_actor(role)
    calls = [
        lambda: users.add_user(db, actor, username="x1", password="pass1", role="observer"),
        lambda: users.disable_user(db, actor, "root"),
        lambda: users.enable_user(db, actor, "root"),
        lambda: users.reset_password(db, actor, "root", "taken-over"),
        lambda: users.change_role(db, actor, actor.username, "admin"),
        lambda: audit.verify_as(db, actor),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    assert {u.username: u.role for u in users.list_users(db)}["root"] == "admin"
    assert users.authenticate(db, "root", "pw", "ws").role == "admin"


def test_an_administrator_manages_users(db: Database, make_actor: Any) -> None:
    admin = make_actor("admin", "root")
    users.add_user(db, admin, username="new", password="pass1", role="observer")
    users.change_role(db, admin, "new", "duty_officer")
    assert audit.verify_as(db, admin).ok


def test_observer_reads_but_may_not_record_or_acknowledge(db: Database, make_actor: Any) -> None:
    officer, observer = make_actor("duty_officer"), make_actor("observer")
    row = incidents.create_incident(db, officer, DRAFT).row
    with pytest.raises(PermissionDenied, match="may not acknowledge an incident"):
        incidents.acknowledge(db, observer, row.id, row.version)
    with pytest.raises(PermissionDenied):
        incidents.create_incident(db, observer, DRAFT)
    with pytest.raises(PermissionDenied):
        incidents.add_note(db, observer, row.id, "note")


def test_an_integration_account_may_only_create(db: Database, make_actor: Any) -> None:
    hotline = make_actor("integration", "hotline-12345")
    row = incidents.create_incident(db, hotline, DRAFT).row
    assert row.status == "new"
    for call in (lambda: incidents.acknowledge(db, hotline, row.id, row.version),
                 lambda: incidents.add_note(db, hotline, row.id, "note"),
                 lambda: incidents.resolve(db, hotline, row.id, row.version),
                 lambda: incidents.update_incident(db, hotline, row.id, row.version, severity=1),
                 lambda: users.disable_user(db, hotline, "hotline-12345")):
        with pytest.raises(PermissionDenied):
            call()
    assert not allowed(hotline, "console.sign_in")


@pytest.mark.parametrize("role", ["duty_officer", "shift_leader", "director", "drill_director", "admin"])
def test_officers_and_above_work_incidents(db: Database, make_actor: Any, role: str) -> None:
    actor = make_actor(role)
    row = incidents.create_incident(db, actor, DRAFT).row
    acked = incidents.acknowledge(db, actor, row.id, row.version)
    assert acked.status == "acknowledged" and acked.owner_user_id == actor.user_id
    incidents.add_note(db, actor, row.id, "已电话联系报告人")


def test_the_refusal_names_the_user_the_role_and_the_action(make_actor: Any) -> None:
    officer = make_actor("duty_officer", "wang")
    with pytest.raises(PermissionDenied) as err:
        require(officer, "users.manage")
    assert str(err.value) == "wang (Duty officer) may not manage users."
