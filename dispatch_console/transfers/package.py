"""The transfer package: JSON after ``resources/transfers/package.schema.json``, signed with HMAC-SHA256.

The signature covers the canonical form of the package without its ``signature`` member (keys
sorted, no spaces, UTF-8 — :func:`dispatch_console.kernel.changes.canonical_json`), under the key
the two rooms share. A package is read through the kernel's bounded reader (size, depth, numbers),
checked against the schema, then its times (2000–2100), then its signature; the first thing
wrong is the reason it is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import uuid
from dataclasses import replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from dispatch_console.kernel import bounded_input
from dispatch_console.kernel.changes import canonical_json
from dispatch_console.kernel.config import resources_root
from dispatch_console.kernel.i18n import _

SCHEMA_FILE = "transfers/package.schema.json"
MAX_BYTES = 512 * 1024
LIMITS = replace(bounded_input.Limits(), file_bytes=MAX_BYTES, depth=8, field_chars=8000, items=1000)
TIME_FIELDS = (("lastUpdateTimeStamp",), ("incidentComponent", "incidentCreationTimeStamp"),
               ("incidentComponent", "incidentReportedTimeStamp"), ("caseComponent", "caseRegisteredTimeStamp"))


class PackageRefused(Exception):
    """A package that may not be taken: the reason, in one line (never the key)."""

    def __init__(self, reason: str, package: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.package = package  # what could be parsed, to tell the sender (None when nothing could)


@cache
def schema() -> dict[str, Any]:
    import jsonschema  # here, not at the top: a command that sends no package (an intake) never loads it

    data: dict[str, Any] = bounded_input.load_json(resources_root() / SCHEMA_FILE)
    jsonschema.Draft202012Validator.check_schema(data)
    return data


def new_identifier() -> str:
    return uuid.uuid4().hex


def unsigned(package: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in package.items() if k != "signature"}


def signature_of(package: dict[str, Any], key: bytes) -> str:
    return hmac.new(key, canonical_json(unsigned(package)).encode("utf-8"), hashlib.sha256).hexdigest()


def sign(package: dict[str, Any], key: bytes) -> dict[str, Any]:
    return {**unsigned(package), "signature": {"algorithm": "HMAC-SHA256", "value": signature_of(package, key)}}


def encode(package: dict[str, Any]) -> bytes:
    return json.dumps(package, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


def _schema_problem(data: Any) -> str | None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or _("the package")
    return _("does not follow the transfer schema at {where}: {problem}").format(
        where=where, problem=str(error.message)[:200])


def parse(raw: bytes, name: str) -> dict[str, Any]:
    """The package in ``raw`` checked for everything but its signature (PackageRefused otherwise)."""
    where = bounded_input.Position(name)
    if len(raw) > MAX_BYTES:
        raise PackageRefused(_("the package is {size} bytes, more than the limit of {limit}").format(
            size=len(raw), limit=MAX_BYTES))
    try:
        data = bounded_input.decode_json(raw, where, LIMITS)
    except bounded_input.InputError as exc:
        raise PackageRefused(str(exc)) from None
    problem = _schema_problem(data)
    if problem is not None:
        raise PackageRefused(problem, data if isinstance(data, dict) else None)
    for path in TIME_FIELDS:
        node: Any = data
        for step in path:
            node = node.get(step) if isinstance(node, dict) else None
        if node is not None:
            try:
                bounded_input.parse_datetime(node, where.at(field=".".join(path)))
            except bounded_input.InputError as exc:
                raise PackageRefused(str(exc), data) from None
    case = data.get("caseComponent") or {}
    for items, member, stamp in ((data.get("notesComponent") or [], "notesComponent", "noteDateTimeStamp"),
                                 (case.get("sessionComponent") or [], "sessionComponent", "sessionTimeStamp")):
        for i, item in enumerate(items):
            try:
                bounded_input.parse_datetime(item[stamp], where.at(field=f"{member}[{i}]"))
            except bounded_input.InputError as exc:
                raise PackageRefused(str(exc), data) from None
    result: dict[str, Any] = data
    return result


def verify(package: dict[str, Any], key: bytes) -> None:
    """PackageRefused unless the signature is the HMAC of the package under ``key``."""
    given = str(package.get("signature", {}).get("value", ""))
    if not hmac.compare_digest(given, signature_of(package, key)):
        raise PackageRefused(_("the integrity check failed (HMAC-SHA256 does not match): changed on the way, "
                               "or signed with another key"), package)


def read(path: Path) -> tuple[bytes, str]:
    """A package file's bytes through the bounded reader, and its name (PackageRefused when unreadable)."""
    try:
        return bounded_input.read_bytes(path, LIMITS), path.name
    except bounded_input.InputError as exc:
        raise PackageRefused(str(exc)) from None


def write_atomic(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` as ``folder/name`` so that a reader never sees half of it (tmp, fsync, rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    tmp = folder / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(target)
    return target


def timestamp(value: datetime) -> str:
    return value.isoformat(timespec="seconds")
