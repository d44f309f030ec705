"""The rules over the cases: a party in a dispute and a petition, a case flagged 可能激化 (both backends)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support.street import Street, make_street

from db.engine import Database
from db.models import Case, EarlyWarning, Notification
from dispatch_console import warnings
from dispatch_console.cases import service
from dispatch_console.cases.parties import PartyDraft, make_id_number
from dispatch_console.cases.reads import get_case
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.policies import PolicyError
from dispatch_console.warnings.evaluate import evaluate_pending
from dispatch_console.warnings.rules import load_policy
from station.launcher import main

ID_ZHANG = make_id_number("44030519900101123")


@pytest.fixture
def street(db: Database) -> Street:
    s = make_street(db)
    assert evaluate_pending(db, "agent") == []  # the rules' cursor starts at the present
    return s


def _open(street: Street, kind: str, *parties: PartyDraft, drill: bool = False, may_escalate: bool = False,
          title: str = "楼上漏水") -> int:
    return service.open_case(street.db, street.officer, service.CaseDraft(
        kind=kind, title=title, parties=parties, is_drill=drill, may_escalate=may_escalate,
        risk="high" if may_escalate else "low"))


def _warnings(db: Database, rule: str) -> list[EarlyWarning]:
    with db.read() as s:
        return list(s.execute(select(EarlyWarning).where(EarlyWarning.rule == rule).order_by(EarlyWarning.id))
                    .scalars())


def _number(db: Database, case_id: int) -> str:
    with db.read() as s:
        return str(s.execute(select(Case.number).where(Case.id == case_id)).scalar_one())


def _evaluate_on_five_machines(db: Database) -> None:
    """Four consoles and an agent, each with its own connections, evaluating at the same moment."""
    machines = [Database(db.url) for _ in range(5)]
    start = threading.Barrier(len(machines))
    errors: list[BaseException] = []

    def run(i: int, machine: Database) -> None:
        try:
            start.wait()
            evaluate_pending(machine, "agent" if i == 0 else f"ws-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, m)) for i, m in enumerate(machines)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for m in machines:
        m.dispose()
    assert errors == []


def test_one_phone_in_a_dispute_and_a_petition_raises_one_warning_linked_to_both(street: Street) -> None:
    dispute = _open(street, "dispute", PartyDraft("张三", "applicant", "13800138000"), PartyDraft("李四", "respondent"))
    _evaluate_on_five_machines(street.db)
    assert _warnings(street.db, "repeat_party") == []  # one case alone is nothing
    petition = _open(street, "petition", PartyDraft("张三", "applicant", "+86 138-0013-8000"))
    _evaluate_on_five_machines(street.db)
    (w,) = _warnings(street.db, "repeat_party")
    assert w.target_role == "shift_leader" and w.unit_kind == "stability_office"
    assert "138****8000" in w.title and "13800138000" not in w.title
    row = warnings.get_warning(street.db, w.id)
    assert row.case_ids == (dispute, petition)
    assert row.case_numbers == (_number(street.db, dispute), _number(street.db, petition))
    with street.db.read() as s:
        told = s.execute(select(func.count()).select_from(Notification).where(
            Notification.kind == "warning", Notification.title == w.title)).scalar_one()
    assert told == 1
    # a second petition of the same party joins the warning, raises nothing new
    again = _open(street, "petition", PartyDraft("张三", "applicant", "13800138000"))
    _evaluate_on_five_machines(street.db)
    assert [x.id for x in _warnings(street.db, "repeat_party")] == [w.id]
    assert warnings.get_warning(street.db, w.id).case_ids == (dispute, petition, again)


def test_the_same_id_number_counts_and_a_party_added_later_counts(street: Street) -> None:
    dispute = _open(street, "dispute", PartyDraft("张三", "applicant", None, ID_ZHANG))
    petition = _open(street, "petition", PartyDraft("王五", "applicant", "13900000000"))
    evaluate_pending(street.db, "agent")
    assert _warnings(street.db, "repeat_party") == []
    service.add_party(street.db, street.officer, petition, PartyDraft("张三", "other", None, ID_ZHANG.lower()))
    evaluate_pending(street.db, "agent")
    (w,) = _warnings(street.db, "repeat_party")
    assert warnings.get_warning(street.db, w.id).case_ids == (dispute, petition)
    assert "440***********" in w.title


def test_two_disputes_cases_a_year_apart_and_drills_do_not_count(street: Street) -> None:
    party = PartyDraft("张三", "applicant", "13800138000")
    _open(street, "dispute", party)
    _open(street, "dispute", party)  # the same kind twice is not the rule
    evaluate_pending(street.db, "agent")
    _open(street, "petition", party, drill=True)  # a drill never counts
    evaluate_pending(street.db, "agent")
    assert _warnings(street.db, "repeat_party") == []
    with street.db.write() as s:  # both disputes were opened 13 months ago
        for case in s.execute(select(Case).where(Case.kind == "dispute")).scalars():
            case.created_at -= timedelta(days=400)
    _open(street, "petition", party)
    evaluate_pending(street.db, "agent")
    assert _warnings(street.db, "repeat_party") == []


def test_a_case_flagged_may_escalate_raises_one_warning_to_the_stability_lead(street: Street) -> None:
    case_id = _open(street, "dispute", PartyDraft("张三"), may_escalate=True, title="宅基地纠纷双方扬言械斗")
    _evaluate_on_five_machines(street.db)
    (w,) = _warnings(street.db, "case_may_escalate")
    assert (w.level, w.target_role, w.unit_kind) == ("critical", "director", "stability_office")
    assert warnings.get_warning(street.db, w.id).case_ids == (case_id,)
    with street.db.read() as s:
        told = s.execute(select(Notification.kind, Notification.target_role)
                         .where(Notification.target_role == "director")).all()
    assert told == [("case_risk", "director")]  # the cases room told the lead at once; not told twice
    # the risk changed while still flagged: the same episode
    version = get_case(street.db, case_id).row.version
    service.set_risk(street.db, street.officer, case_id, version, risk="medium", may_escalate=True)
    evaluate_pending(street.db, "agent")
    assert len(_warnings(street.db, "case_may_escalate")) == 1
    # lowered, then raised again: a new episode
    for flag in (False, True):
        version = get_case(street.db, case_id).row.version
        service.set_risk(street.db, street.officer, case_id, version, risk="high", may_escalate=flag)
    evaluate_pending(street.db, "agent")
    assert len(_warnings(street.db, "case_may_escalate")) == 2
    _open(street, "petition", PartyDraft("李四"), may_escalate=True, drill=True)
    evaluate_pending(street.db, "agent")
    assert len(_warnings(street.db, "case_may_escalate")) == 2  # a drill never raises one


def _site(tmp_path: Path, text: str) -> Resources:
    config = tmp_path / "config"
    (config / "policies").mkdir(parents=True, exist_ok=True)
    (config / "policies" / "warning.toml").write_text(text, encoding="utf-8")
    return Resources(config)


def test_the_level_and_who_is_told_come_from_warning_toml(street: Street, tmp_path: Path) -> None:
    policy = load_policy(_site(tmp_path, '[case_may_escalate]\nlevel = "warning"\nnotify = "shift_leader"\n'
                                         '[repeat_party]\nenabled = false\n'))
    party = PartyDraft("张三", "applicant", "13800138000")
    _open(street, "dispute", party, may_escalate=True)
    _open(street, "petition", party)
    evaluate_pending(street.db, "agent", policy=policy)
    assert _warnings(street.db, "repeat_party") == []
    (w,) = _warnings(street.db, "case_may_escalate")
    with street.db.read() as s:
        told = s.execute(select(Notification.level, Notification.target_role)
                         .where(Notification.kind == "warning")).all()
    assert (w.level, w.target_role) == ("warning", "shift_leader") and told == [("warning", "shift_leader")]
    with pytest.raises(PolicyError, match=r"repeat_party\.window"):
        load_policy(_site(tmp_path, '[repeat_party]\nwindow = "1h"\n'))
    with pytest.raises(PolicyError, match=r"case_may_escalate\.notify"):
        load_policy(_site(tmp_path, '[case_may_escalate]\nnotify = "mayor"\n'))


def test_warnings_list_json_names_the_cases(street: Street, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    party = PartyDraft("张三", "applicant", "13800138000")
    dispute, petition = _open(street, "dispute", party), _open(street, "petition", party)
    evaluate_pending(street.db, "agent")
    capsys.readouterr()
    assert main(["--db", db_url, "--lang", "en", "warnings", "list", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (repeat,) = [x for x in lines if x["rule"] == "repeat_party"]
    assert repeat["cases"] == [_number(street.db, dispute), _number(street.db, petition)]
    assert main(["--db", db_url, "--lang", "en", "warnings", "list"]) == 0
    assert "Cases: " + _number(street.db, dispute) in capsys.readouterr().out
