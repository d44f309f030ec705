"""The transfer package on its own: the schema, the signature over the canonical form, the bounded reader."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dispatch_console.transfers import package as pkg
from dispatch_console.transfers.package import PackageRefused

KEY = b"a key both rooms share, 32 bytes"


def _package(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "packageVersion": 1, "eidoMessageIdentifier": "0" * 32, "kind": "transfer", "sendingRoom": "taoyuan",
        "receivingRoom": "district", "lastUpdateTimeStamp": "2026-12-03T13:00:00+00:00",
        "incidentComponent": {"incidentTrackingIdentifier": "TY-20261203-0001",
                              "incidentTypeCommonRegistryText": "fire", "incidentSeverity": 2,
                              "incidentCreationTimeStamp": "2026-12-03T12:55:00+00:00",
                              "incidentDescriptionText": "仓库冒烟"},
        **changes,
    }
    return pkg.sign(body, KEY)


def _raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def test_a_signed_package_reads_back_and_verifies_whatever_its_key_order() -> None:
    body = _package()
    shuffled = dict(reversed(list(body.items())))
    parsed = pkg.parse(_raw(shuffled), "p.json")
    pkg.verify(parsed, KEY)
    assert parsed["incidentComponent"]["incidentDescriptionText"] == "仓库冒烟"


def test_a_changed_field_or_another_key_fails_the_integrity_check() -> None:
    body = _package()
    body["incidentComponent"]["incidentSeverity"] = 1
    with pytest.raises(PackageRefused, match="HMAC"):
        pkg.verify(pkg.parse(_raw(body), "p.json"), KEY)
    with pytest.raises(PackageRefused, match="HMAC"):
        pkg.verify(pkg.parse(_raw(_package()), "p.json"), b"another key of thirty-two bytes!")


@pytest.mark.parametrize(("change", "reason"), [
    ({"kind": "gossip"}, "kind"),
    ({"extra": 1}, "extra"),
    ({"sendingRoom": "../../etc"}, "sendingRoom"),
    ({"lastUpdateTimeStamp": "2201-01-01T00:00:00+00:00"}, "2201"),
    ({"kind": "status"}, "statusComponent"),
])
def test_a_package_off_the_schema_or_out_of_dates_is_refused_with_where(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(PackageRefused) as caught:
        pkg.parse(_raw(_package(**change)), "p.json")
    assert reason in caught.value.reason


def test_the_reader_is_bounded() -> None:
    with pytest.raises(PackageRefused, match="nested"):
        pkg.parse(b"[" * 100 + b"]" * 100, "deep.json")
    with pytest.raises(PackageRefused, match="limit"):
        pkg.parse(b" " * (pkg.MAX_BYTES + 1), "big.json")
    with pytest.raises(PackageRefused, match="digits"):
        pkg.parse(b'{"packageVersion": 1' + b"0" * 40 + b"}", "wide.json")
    with pytest.raises(PackageRefused, match="JSON"):
        pkg.parse("不是JSON".encode(), "text.json")
