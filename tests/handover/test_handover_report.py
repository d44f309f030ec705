"""The handover record and the duty log: printable HTML (escaped), PDF with Chinese text and pages."""

from __future__ import annotations

import re
from pathlib import Path

import pypdf
from support.handover_fixtures import incident, now_to_next

from db.engine import Database
from dispatch_console.checklists import service as checklists
from dispatch_console.demo.database import prepare_demo_database
from dispatch_console.handover import service as handover
from dispatch_console.handover.duty_log import duty_log
from dispatch_console.handover.report import duty_log_html, handover_html
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.queue import QueueQuery
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.i18n import set_language
from station.launcher import main
from ui.shell.pdf_export import embedded_fonts


def _pdf_text(path: Path) -> tuple[str, int, set[str]]:
    reader = pypdf.PdfReader(str(path))
    return "\n".join(p.extract_text() for p in reader.pages), len(reader.pages), embedded_fonts(path)


def test_pdf_of_the_demo_current_shift_lists_every_open_incident(db_url: str, tmp_path: Path) -> None:
    prepare_demo_database(db_url, Actor.system("t"))
    out = tmp_path / "交接班.pdf"
    try:
        assert main(["--db", db_url, "--lang", "zh_CN", "handover", "report", "--pdf", str(out)]) == 0
    finally:
        set_language("en")
    db = Database(db_url)
    try:
        open_rows = incidents.query_incidents(db, QueueQuery(open_only=True, include_drill=False, limit=1000)).rows
    finally:
        db.dispose()
    text, pages, fonts = _pdf_text(out)
    flat = re.sub(r"\s+", "", text)
    assert open_rows and all(r.number in flat for r in open_rows)
    assert "交接班记录" in text and "签字确认" in flat
    # 第 N 页 / 共 M 页 on every page (pypdf reads 页 back as the radical ⻚ of the same glyph)
    assert all(re.search(f"第{n}.?/共{pages}", flat) for n in range(1, pages + 1))
    # the Chinese font the project ships travels with the file, whatever fonts this machine has
    assert any(f.endswith("NotoSansCJKsc-DispatchSubset") for f in fonts)


def test_duty_log_pdf_of_a_shift(db: Database, system: Actor, tmp_path: Path) -> None:
    room = now_to_next(db, system)
    fire = incident(db, room.zhang, 1, "厂房冒烟", acknowledge=True)
    out = tmp_path / "log.pdf"
    url = db.url.render_as_string(hide_password=False)
    assert main(["--db", url, "handover", "log", "--shift", str(room.outgoing), "--pdf", str(out)]) == 0
    text, pages, _fonts = _pdf_text(out)
    flat = re.sub(r"\s+", "", text)
    assert fire.number in flat and "Dutylog" in flat and f"Page1of{pages}" in flat


def test_duty_log_lists_the_shift_in_order_without_drills(db: Database, system: Actor) -> None:
    room = now_to_next(db, system)
    fire = incident(db, room.zhang, 1, "厂房冒烟", acknowledge=True)
    drill = incident(db, room.zhang, 1, "演练：厂房冒烟", drill=True)
    step = checklists.items_for(db, fire.id)[0]
    checklists.tick(db, room.zhang, step.id, step.version, note="已核实")
    record = handover.draft(db, room.wang, room.outgoing)
    signed = handover.sign(db, room.wang, record.id, record.version, "pw")
    handover.reacknowledge(db, room.li, signed.id, fire.id)

    log = duty_log(db, room.outgoing)
    times = [e.at for e in log.entries]
    assert times == sorted(times)
    assert drill.number not in {e.incident_number for e in log.entries}
    kinds = [(e.category, e.text.split(" — ")[0]) for e in log.entries]
    for expected in [("roster", "Put on the roster"), ("incident", "Incident recorded"),
                     ("incident", "Incident acknowledged"), ("checklist", "Checklist step done"),
                     ("handover", "Handover record drafted"), ("handover", "Handover signed"),
                     ("handover", "Handed over to the next shift")]:
        assert expected in kinds, expected
    assert kinds.index(("incident", "Incident recorded")) < kinds.index(("handover", "Handover signed"))
    ticked = next(e for e in log.entries if e.text.startswith("Checklist step done"))
    assert ticked.incident_number == fire.number and "已核实" in ticked.text and ticked.station == "值班台1"
    assert fire.number in duty_log_html(log)


def test_hostile_text_is_escaped_in_the_record(db: Database, system: Actor) -> None:
    room = now_to_next(db, system)
    incident(db, room.zhang, 2, "<script>alert(1)</script> & <b>大字</b>")
    record = handover.draft(db, room.wang, room.outgoing)
    record = handover.save(db, room.wang, record.id, record.version, notes="<img src=x onerror=alert(1)>\n第二行")
    page = handover_html(record)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;" in page
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
