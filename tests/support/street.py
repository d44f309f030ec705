"""A small street without Qt: the demo street's outline, one community, two grids; and CAP messages.

``make_street`` imports 桃源街道's outline (the demo's, ``dispatch_console.demo.plan``) as the
street, a community and two grids inside it, and creates a duty officer and a shift leader.
``cap_message`` writes a CAP 1.2 message the way the meteorological bureau sends one (Chinese
text, ``latitude,longitude`` polygons), with every part replaceable for the malformed kinds.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from db.engine import Database
from db.models import Incident
from dispatch_console import jurisdiction
from dispatch_console.demo.plan import STREET_OUTLINE
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.jurisdiction import import_geojson
from dispatch_console.kernel.actor import Actor
from dispatch_console.users.accounts import actor_for, create_user

INSIDE = (113.975, 22.580)     # a point well inside the street
ELSEWHERE = (116.40, 39.90)    # Beijing


def square(lon: float, lat: float, size: float) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def _feature(name: str, code: str, geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"name": name, "code": code}, "geometry": geometry}


@dataclass
class Street:
    db: Database
    officer: Actor
    leader: Actor
    grids: dict[str, int]
    made: list[int] = field(default_factory=list)

    def report(self, description: str = "噪音扰民", *, category: str = "dispute", grid: str | None = "G1",
               phone: str | None = None, address: str | None = None, people: int | None = None,
               drill: bool = False, severity: int = 3, days_ago: float | None = None) -> int:
        draft = IncidentDraft(category=category, severity=severity, source="hotline_12345",
                              description=description, grid=grid, reporter_phone=phone, address=address,
                              people_count=people, is_drill=drill)
        row = incidents.create_incident(self.db, self.officer, draft).row
        if days_ago is not None:
            backdate(self.db, row.id, timedelta(days=days_ago))
        self.made.append(row.id)
        return row.id


def backdate(db: Database, incident_id: int, by: timedelta) -> None:
    """Seeded history: the incident as if recorded ``by`` earlier (the rules read created_at)."""
    with db.write() as s:
        inc = s.get(Incident, incident_id)
        assert inc is not None
        s.execute(update(Incident).where(Incident.id == incident_id).values(created_at=inc.created_at - by))


def make_street(db: Database) -> Street:
    system = Actor.system("test")
    outline = [[lon, lat] for lon, lat in (*STREET_OUTLINE, STREET_OUTLINE[0])]
    import_geojson(db, system, {"type": "FeatureCollection", "features": [
        _feature("桃源街道", "taoyuan", {"type": "Polygon", "coordinates": [outline]})]}, "street")
    import_geojson(db, system, {"type": "FeatureCollection", "features": [
        _feature("峰景社区", "FJ", square(113.970, 22.575, 0.010))]}, "community", parent_name="桃源街道")
    import_geojson(db, system, {"type": "FeatureCollection", "features": [
        _feature("峰景社区第1网格", "G1", square(113.970, 22.575, 0.005)),
        _feature("峰景社区第2网格", "G2", square(113.975, 22.575, 0.005)),
    ]}, "grid", parent_name="峰景社区")
    grids = {g.code: g.id for c in jurisdiction.tree(db) for g in c.grids}
    actors = []
    for role, display in (("duty_officer", "值班员李"), ("shift_leader", "带班领导王")):
        with db.write() as s:
            user = create_user(s, system, username=f"{role}-{uuid.uuid4().hex[:6]}", password="pw", role=role,
                               display_name=display)
            actors.append(actor_for(user, "值班台1"))
    return Street(db, actors[0], actors[1], grids)


# ---------------------------------------------------------------------------------------------
# CAP messages.

NS = "urn:oasis:names:tc:emergency:cap:1.2"
SENDER = "sz-weather@gd.cma.cn"


def polygon_text(lon: float, lat: float, size: float, *, closed: bool = True) -> str:
    points = [(lat, lon), (lat, lon + size), (lat + size, lon + size), (lat + size, lon)]
    if closed:
        points.append(points[0])
    return " ".join(f"{a},{b}" for a, b in points)


OVER_STREET = polygon_text(113.95, 22.55, 0.06)
OVER_BEIJING = polygon_text(116.3, 39.8, 0.2)


def cap_message(identifier: str = "GD-SZ-2026-0001", *, msg_type: str = "Alert", references: str | None = None,
                sent: datetime | str = "2026-12-03T08:00:00+08:00", status: str = "Actual",
                event: str = "台风", headline: str = "深圳市气象台发布台风黄色预警信号",
                severity: str = "Moderate", expires: str | None = "2099-12-31T23:00:00+08:00",
                area: str | None = None, polygon: str | None = OVER_STREET, circle: str | None = None,
                geocode: tuple[str, str] | None = None, namespace: str = NS, drop: tuple[str, ...] = (),
                category: str = "Met") -> bytes:
    """A CAP 1.2 message as bytes; ``drop`` leaves out required elements by name."""
    sent_text = sent if isinstance(sent, str) else sent.isoformat(timespec="seconds")

    def el(name: str, value: str | None) -> str:
        return "" if value is None or name in drop else f"<{name}>{value}</{name}>"

    area_xml = "<area>" + el("areaDesc", area or "深圳市南山区") + el("polygon", polygon) + el("circle", circle)
    if geocode:
        area_xml += f"<geocode><valueName>{geocode[0]}</valueName><value>{geocode[1]}</value></geocode>"
    area_xml += "</area>"
    info = ("<info>" + el("language", "zh-CN") + el("category", category) + el("event", event)
            + el("urgency", "Expected") + el("severity", severity) + el("certainty", "Likely")
            + el("expires", expires) + el("senderName", "深圳市气象台") + el("headline", headline)
            + el("description", "预计未来24小时内受台风“海葵”影响，我市将出现8级以上大风，阵风10级；请注意防御。")
            + el("instruction", "1.做好防风准备；2.切断危险的室外电源。") + area_xml + "</info>")
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<alert xmlns="{namespace}">'
            + el("identifier", identifier) + el("sender", SENDER) + el("sent", sent_text) + el("status", status)
            + el("msgType", msg_type) + el("scope", "Public") + el("references", references) + info + "</alert>")
    return body.encode("utf-8")


def reference(identifier: str = "GD-SZ-2026-0001", sent: str = "2026-12-03T08:00:00+08:00") -> str:
    return f"{SENDER},{identifier},{sent}"


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol9;</identifier></alert>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>
"""
