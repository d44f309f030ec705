"""Reading one OASIS CAP 1.2 message: safely, against the bundled schema, into a frozen value.

A CAP file comes from outside (an intranet share the district fills from the national
early-warning platform 12379), so it is read as hostile until proven otherwise:

1. at most :data:`MAX_BYTES`; a DTD (``<!DOCTYPE``) is refused before anything is expanded —
   entity expansion is how an XML bomb works, and external entities how a file is read off the
   disk (defusedxml, ``forbid_dtd``);
2. the root must be ``alert`` in the CAP 1.2 namespace (CAP 1.1 and 1.0 are named as such);
3. the whole message is validated against the CAP 1.2 XSD (``resources/cap/cap12.xsd``, parsed
   once, no network);
4. what the schema leaves as strings is checked here: dates between 2000 and 2100, polygons of
   at least four points that close, circles with a radius, coordinates in range.

Text (headline, description, instruction) is kept exactly as sent, Chinese included.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException
from lxml import etree

from dispatch_console.kernel.config import resources_root
from dispatch_console.kernel.errors import DispatchError
from dispatch_console.kernel.i18n import _

CAP12 = "urn:oasis:names:tc:emergency:cap:1.2"
OLDER = {"urn:oasis:names:tc:emergency:cap:1.1": "CAP 1.1", "http://www.incident.com/cap/1.0": "CAP 1.0"}
MAX_BYTES = 1_000_000       # a CAP message is a few kB; a large image goes by <resource> URI, not inline
MAX_POINTS = 10_000         # per polygon
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100

# CAP <severity> → the Chinese four-colour warning scale (蓝/黄/橙/红, 《突发事件应对法》)
SEVERITY_COLOUR = {"Minor": "blue", "Moderate": "yellow", "Severe": "orange", "Extreme": "red"}
COLOUR_WORDS = {"red": "红色", "orange": "橙色", "yellow": "黄色", "blue": "蓝色"}


class CapRefused(DispatchError):
    """The message is not a CAP 1.2 message this console may store; the text says why."""


@dataclass(frozen=True)
class CapArea:
    description: str
    polygons: tuple[tuple[tuple[float, float], ...], ...]  # rings of (lon, lat), closed
    circles: tuple[tuple[float, float, float], ...]        # (lon, lat, radius km)
    geocodes: tuple[tuple[str, str], ...]                  # (valueName, value)


@dataclass(frozen=True)
class CapReference:
    sender: str
    identifier: str
    sent_text: str


@dataclass(frozen=True)
class CapMessageData:
    """One CAP message; the fields of its chosen ``<info>`` (Chinese first) are flattened in."""

    identifier: str
    sender: str
    sent: datetime
    sent_text: str
    status: str
    msg_type: str
    scope: str
    references: tuple[CapReference, ...]
    references_text: str | None
    language: str | None
    categories: tuple[str, ...]
    event: str | None
    headline: str | None
    description: str | None
    instruction: str | None
    sender_name: str | None
    severity: str | None
    urgency: str | None
    certainty: str | None
    colour: str | None
    effective: datetime | None
    onset: datetime | None
    expires: datetime | None
    areas: tuple[CapArea, ...]
    xml: str

    def areas_json(self) -> list[dict[str, Any]]:
        return [{"description": a.description,
                 "polygons": [[list(p) for p in ring] for ring in a.polygons],
                 "circles": [list(c) for c in a.circles],
                 "geocodes": [list(g) for g in a.geocodes]} for a in self.areas]


_schema_lock = threading.Lock()
_schema: etree.XMLSchema | None = None


def schema() -> etree.XMLSchema:
    """The CAP 1.2 XSD, parsed once per process (XMLSchema objects are safe to share for validation)."""
    global _schema
    with _schema_lock:
        if _schema is None:
            parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
            doc = etree.parse(str(resources_root() / "cap" / "cap12.xsd"), parser)
            _schema = etree.XMLSchema(doc)
        return _schema


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_comments=False)


def _check_safe(data: bytes) -> None:
    """Refuse what is not XML, and every DTD, before lxml sees the bytes."""
    try:
        DefusedET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise CapRefused(_("the file declares a DTD or entities (<!DOCTYPE>, <!ENTITY>): refused, as an "
                           "XML bomb or an external entity would be ({kind})").format(
                               kind=type(exc).__name__)) from None
    except DefusedET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise CapRefused(_("not well-formed XML (line {line}, column {column})").format(
            line=line, column=column + 1)) from None


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _date(text: str, what: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CapRefused(_("{what}: {value} is not a date and time").format(what=what, value=text)) from None
    if value.tzinfo is None:
        raise CapRefused(_("{what}: {value} has no time zone").format(what=what, value=text))
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise CapRefused(_("{what}: {value} is outside the years {first}–{last}").format(
            what=what, value=text, first=EARLIEST_YEAR, last=LATEST_YEAR))
    return value


def _point(pair: str, where: str) -> tuple[float, float]:
    """CAP writes "latitude,longitude" (WGS 84); shapely and GeoJSON want (lon, lat)."""
    try:
        lat_s, lon_s = pair.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        raise CapRefused(_("{where}: {pair} is not a latitude,longitude pair").format(
            where=where, pair=pair[:40])) from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise CapRefused(_("{where}: {pair} is outside the latitude/longitude range").format(
            where=where, pair=pair[:40]))
    return lon, lat


def _polygon(text: str, where: str) -> tuple[tuple[float, float], ...]:
    pairs = text.split()
    if len(pairs) > MAX_POINTS:
        raise CapRefused(_("{where}: more than {n} points").format(where=where, n=MAX_POINTS))
    points = tuple(_point(p, where) for p in pairs)
    if len(points) < 4:
        raise CapRefused(_("{where}: a polygon needs at least four points (the first repeated last)").format(
            where=where))
    if points[0] != points[-1]:
        raise CapRefused(_("{where}: the polygon does not close (its last point is not its first)").format(
            where=where))
    return points


def _circle(text: str, where: str) -> tuple[float, float, float]:
    parts = text.split()
    if len(parts) != 2:
        raise CapRefused(_("{where}: a circle is \"latitude,longitude radius\"").format(where=where))
    lon, lat = _point(parts[0], where)
    try:
        radius = float(parts[1])
    except ValueError:
        raise CapRefused(_("{where}: the radius {value} is not a number").format(where=where, value=parts[1])) from None
    if not (math.isfinite(radius) and 0 <= radius <= 20_000):
        raise CapRefused(_("{where}: the radius {value} km is out of range").format(where=where, value=parts[1]))
    return lon, lat, radius


def _colour(severity: str | None, *texts: str | None) -> str | None:
    """The colour the message names (台风黄色预警) wins over the one its severity maps to."""
    for text in texts:
        if text:
            for code, word in COLOUR_WORDS.items():
                if word in text:
                    return code
    return SEVERITY_COLOUR.get(severity or "")


def parse(data: bytes) -> CapMessageData:
    """One CAP 1.2 message from its bytes, or :class:`CapRefused` with the reason."""
    if len(data) > MAX_BYTES:
        raise CapRefused(_("larger than {n} kB: not a CAP message").format(n=MAX_BYTES // 1000))
    if not data.strip():
        raise CapRefused(_("the file is empty"))
    _check_safe(data)
    try:
        root = etree.fromstring(data, _safe_parser())
    except etree.XMLSyntaxError as exc:
        raise CapRefused(_("not well-formed XML ({reason})").format(reason=str(exc)[:200])) from None
    ns = _namespace(root.tag)
    if ns in OLDER:
        raise CapRefused(_("this is a {version} message; only CAP 1.2 is read").format(version=OLDER[ns]))
    if ns != CAP12 or etree.QName(root).localname != "alert":
        raise CapRefused(_("not a CAP 1.2 alert: the root element is {tag}").format(
            tag=etree.QName(root).localname + (f" in {ns}" if ns else " without a namespace")))
    checker = schema()
    if not checker.validate(root):
        error = checker.error_log.last_error
        text = error.message if error is not None else "?"
        line = error.line if error is not None else 0
        raise CapRefused(_("does not follow the CAP 1.2 schema (line {line}: {reason})").format(
            line=line, reason=text[:300]))
    return _read(root, data)


def _text(parent: Any, name: str) -> str | None:
    node = parent.find(f"{{{CAP12}}}{name}")
    return None if node is None or node.text is None else str(node.text)


def _texts(parent: Any, name: str) -> list[str]:
    return [str(n.text) for n in parent.findall(f"{{{CAP12}}}{name}") if n.text is not None]


def _read(root: Any, data: bytes) -> CapMessageData:
    identifier = (_text(root, "identifier") or "").strip()
    sender = (_text(root, "sender") or "").strip()
    sent_text = (_text(root, "sent") or "").strip()
    if not identifier or not sender:
        raise CapRefused(_("identifier and sender may not be empty"))
    sent = _date(sent_text, "sent")
    refs_text = _text(root, "references")
    refs: list[CapReference] = []
    for triple in (refs_text or "").split():
        parts = triple.split(",")
        if len(parts) != 3:
            raise CapRefused(_("references: {value} is not sender,identifier,sent").format(value=triple[:80]))
        refs.append(CapReference(parts[0], parts[1], parts[2]))
    msg_type = _text(root, "msgType") or ""
    if msg_type in ("Update", "Cancel") and not refs:
        raise CapRefused(_("an {type} message must name the message it replaces in references").format(
            type=msg_type))
    infos = root.findall(f"{{{CAP12}}}info")
    # one info block is shown: the Chinese one where the message carries several languages
    chinese = [i for i in infos if (_text(i, "language") or "").lower().startswith("zh")]
    info = chinese[0] if chinese else infos[0] if infos else None
    areas: list[CapArea] = []
    fields: dict[str, Any] = {}
    if info is not None:
        for key in ("event", "headline", "description", "instruction", "senderName", "severity", "urgency",
                    "certainty", "language"):
            fields[key] = _text(info, key)
        for key in ("effective", "onset", "expires"):
            value = _text(info, key)
            fields[key] = _date(value, key) if value else None
        fields["categories"] = tuple(_texts(info, "category"))
        for n, area in enumerate(info.findall(f"{{{CAP12}}}area"), start=1):
            where = _("area {n}").format(n=n)
            areas.append(CapArea(
                description=_text(area, "areaDesc") or "",
                polygons=tuple(_polygon(p, where) for p in _texts(area, "polygon")),
                circles=tuple(_circle(c, where) for c in _texts(area, "circle")),
                geocodes=tuple((_text(g, "valueName") or "", _text(g, "value") or "")
                               for g in area.findall(f"{{{CAP12}}}geocode")),
            ))
    return CapMessageData(
        identifier=identifier, sender=sender, sent=sent, sent_text=sent_text,
        status=_text(root, "status") or "", msg_type=msg_type, scope=_text(root, "scope") or "",
        references=tuple(refs), references_text=refs_text, language=fields.get("language"),
        categories=fields.get("categories", ()), event=fields.get("event"), headline=fields.get("headline"),
        description=fields.get("description"), instruction=fields.get("instruction"),
        sender_name=fields.get("senderName"), severity=fields.get("severity"), urgency=fields.get("urgency"),
        certainty=fields.get("certainty"),
        colour=_colour(fields.get("severity"), fields.get("headline"), fields.get("event")),
        effective=fields.get("effective"), onset=fields.get("onset"), expires=fields.get("expires"),
        areas=tuple(areas), xml=_decoded(data),
    )


def _decoded(data: bytes) -> str:
    """The message as text for keeping (its own encoding declaration honoured by lxml's reading)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        tree = etree.fromstring(data, _safe_parser())
        return str(etree.tostring(tree, encoding="unicode"))
