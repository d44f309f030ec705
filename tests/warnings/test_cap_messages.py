"""Reading one CAP 1.2 message: what is kept exactly, and every malformed kind refused with its reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.street import BOMB, EXTERNAL_ENTITY, OVER_STREET, cap_message, polygon_text

from dispatch_console.warnings import cap
from dispatch_console.warnings.cap import CapRefused

PUBLISHED = Path(__file__).parent / "data" / "published"


def test_a_chinese_typhoon_warning_is_read_with_its_text_kept_exactly() -> None:
    msg = cap.parse(cap_message())
    assert (msg.identifier, msg.msg_type, msg.status) == ("GD-SZ-2026-0001", "Alert", "Actual")
    assert msg.headline == "深圳市气象台发布台风黄色预警信号"
    assert msg.description is not None and "台风“海葵”" in msg.description
    assert msg.colour == "yellow"  # 黄色 in the headline
    assert msg.sent.utcoffset() is not None and msg.sent.isoformat() == "2026-12-03T08:00:00+08:00"
    (area,) = msg.areas
    ring = area.polygons[0]
    assert ring[0] == ring[-1] and ring[0] == (113.95, 22.55)  # lon, lat from CAP's "lat,lon"


@pytest.mark.parametrize(("severity", "headline", "colour"), [
    ("Minor", "大风预警", "blue"), ("Moderate", "大风预警", "yellow"), ("Severe", "大风预警", "orange"),
    ("Extreme", "大风预警", "red"), ("Moderate", "暴雨红色预警信号", "red"), ("Unknown", "大风预警", None),
])
def test_severity_maps_to_the_four_colours_unless_the_message_names_its_colour(
        severity: str, headline: str, colour: str | None) -> None:
    assert cap.parse(cap_message(severity=severity, headline=headline)).colour == colour


@pytest.mark.parametrize(("data", "reason"), [
    (b"this is not xml at all", "not well-formed XML"),
    (b"<alert><identifier>x</identifier>", "not well-formed XML"),
    (cap_message(namespace="urn:example:alerts"), "not a CAP 1.2 alert"),
    (cap_message(namespace="urn:oasis:names:tc:emergency:cap:1.1"), "CAP 1.1"),
    (cap_message(drop=("identifier",)), "does not follow the CAP 1.2 schema"),
    (cap_message(drop=("sent",)), "does not follow the CAP 1.2 schema"),
    (cap_message(sent="2026-12-03 08:00"), "does not follow the CAP 1.2 schema"),
    (cap_message(polygon=polygon_text(113.95, 22.55, 0.06, closed=False)), "does not close"),
    (cap_message(polygon="22.55,113.95 22.56,113.96 22.55,113.95"), "at least four points"),
    (cap_message(polygon="95.0,113.95 22.56,113.96 22.57,113.97 95.0,113.95"), "outside the latitude"),
    (cap_message(circle="22.58,113.97"), "a circle is"),
    (cap_message(sent="1999-12-31T23:00:00+08:00"), "outside the years"),
    (cap_message(msg_type="Update"), "must name the message it replaces"),
    (BOMB, "DTD"),
    (EXTERNAL_ENTITY, "DTD"),
    (b"", "empty"),
    (b"<a>" + b" " * (cap.MAX_BYTES + 1) + b"</a>", "larger than"),
])
def test_malformed_messages_are_refused_with_the_reason(data: bytes, reason: str) -> None:
    with pytest.raises(CapRefused) as refused:
        cap.parse(data)
    assert reason in str(refused.value)


def test_a_circle_and_a_geocode_are_read() -> None:
    msg = cap.parse(cap_message(polygon=None, circle="22.58,113.975 2.5", geocode=("GB2260", "440305")))
    (area,) = msg.areas
    assert area.circles == ((113.975, 22.58, 2.5),)
    assert area.geocodes == (("GB2260", "440305"),)


@pytest.mark.parametrize("name", ["australia.cap", "canada.cap", "canada_signed.cap", "wcatwc-warning.cap",
                                  "earthquake-iso8859-1.cap"])
def test_real_published_messages_are_read(name: str) -> None:
    msg = cap.parse((PUBLISHED / name).read_bytes())
    assert msg.identifier and msg.sender and msg.areas


@pytest.mark.parametrize(("name", "reason"), [
    ("earthquake.cap", "CAP 1.1"), ("invalid.cap", "schema"), ("xee.cap", "DTD"),
])
def test_real_broken_and_hostile_messages_are_refused(name: str, reason: str) -> None:
    with pytest.raises(CapRefused) as refused:
        cap.parse((PUBLISHED / name).read_bytes())
    assert reason in str(refused.value)


def test_the_polygon_over_the_street_is_the_one_the_tests_use() -> None:
    assert cap.parse(cap_message(polygon=OVER_STREET)).areas[0].polygons
