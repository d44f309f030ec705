"""Checking the hash-chained audit log, and the signed checkpoints that make it prove itself.

Each audit row stores the previous row's hash and its own hash over its content and id
(``changes.audit_hash``). That chain alone has no key: whoever may append rows (every
workstation) can also recompute it after an edit, or append a forged row with
``changes.record()``. So the agent signs **checkpoints** (``audit_checkpoint``): the chain's head
(id and hash) and the row counts of ``audit_log`` and ``change_log``, with an HMAC-SHA256 key that
lives only in the agent machine's config folder (``audit-checkpoint.key``, mode 0600) — never in
the database, so no database role can read it. Each checkpoint also signs the previous one's
signature. :func:`verify` names the first thing that does not fit:

* ``deleted``    — a gap in the ids, a change_log holding more changes than the audit log has rows,
  or fewer rows than a checkpoint counted (the tail included, up to the last checkpoint);
* ``reordered``  — a row's ``prev_hash`` is not the hash of the row before it;
* ``edited``     — a row's stored hash is not the hash of its content;
* ``recomputed`` — the chain is whole but its row at a checkpoint's head no longer has the signed
  hash: history was rewritten (and every later hash recomputed) since the previous checkpoint;
* ``forged``     — a row appended after a checkpoint but dated before it (a forged append with a
  false time), or a checkpoint whose signature does not verify with the key.

Rows appended after the newest checkpoint are proved by the next one (every 15 minutes).
Pruning after the retention period (at least 180 days) is itself an audit row that carries the
hash the first kept row links to, so the chain still verifies from there.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import AuditCheckpoint, AuditLog, ChangeLog, Incident
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import GENESIS_HASH, audit_hash, canonical_json, record, serialise_writers
from dispatch_console.kernel.config import APP_NAME
from dispatch_console.kernel.errors import NotFound, ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require
from dispatch_console.kernel.policies import MIN_RETENTION_DAYS
from dispatch_console.kernel.timefmt import fmt_local

log = logging.getLogger(__name__)

_BATCH = 2000
KEY_FILE_NAME = "audit-checkpoint.key"
CHECKPOINT_EVERY = timedelta(minutes=15)
# A transaction may take its time between reading the clock and appending: a row dated this much
# before a checkpoint that does not hold it is still believed.
BACKDATE_SLACK = timedelta(minutes=5)


# ---------------------------------------------------------------------------------------------
# The key: on the agent's machine only.


@dataclass(frozen=True)
class CheckpointKey:
    secret: bytes
    path: Path

    @property
    def key_id(self) -> str:
        """Which key signed (not the key): the first 16 hex digits of its SHA-256."""
        return hashlib.sha256(self.secret).hexdigest()[:16]

    def sign(self, payload: str) -> str:
        return hmac.new(self.secret, payload.encode("utf-8"), hashlib.sha256).hexdigest()


def key_path() -> Path:
    """``DISPATCH_AUDIT_KEY_FILE``, else ``audit-checkpoint.key`` in the config folder."""
    explicit = os.environ.get("DISPATCH_AUDIT_KEY_FILE")
    if explicit:
        return Path(explicit)
    folder = os.environ.get("DISPATCH_CONFIG_DIR") or platformdirs.user_config_dir(APP_NAME, appauthor=False)
    return Path(folder) / KEY_FILE_NAME


def load_key(path: Path | None = None) -> CheckpointKey | None:
    path = path or key_path()
    try:
        text = path.read_text("ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(_("The audit key file {path} cannot be read: {reason}").format(
            path=path, reason=type(exc).__name__)) from None
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) < 32:
        raise ValidationError(_("The audit key file {path} does not hold a key (64 hex digits).").format(path=path))
    return CheckpointKey(secret, path)


def create_key(path: Path | None = None) -> CheckpointKey:
    """Write a new random key, readable by its owner only; refuses to replace one."""
    path = path or key_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ValidationError(_("The audit key file {path} exists already; it is kept.").format(path=path)) from None
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(32) + "\n")
    key = load_key(path)
    assert key is not None
    return key


# ---------------------------------------------------------------------------------------------
# Checkpoints.


@dataclass(frozen=True)
class Checkpoint:
    id: int
    at: datetime
    station: str | None
    audit_rows: int
    audit_head_id: int
    audit_head_hash: str
    change_rows: int
    change_max_seq: int
    pruned_before_id: int
    key_id: str
    prev_signature: str
    signature: str

    def payload(self) -> str:
        return canonical_json({
            "id": self.id, "at": self.at, "station": self.station, "audit_rows": self.audit_rows,
            "audit_head_id": self.audit_head_id, "audit_head_hash": self.audit_head_hash,
            "change_rows": self.change_rows, "change_max_seq": self.change_max_seq,
            "pruned_before_id": self.pruned_before_id, "key_id": self.key_id,
            "prev_signature": self.prev_signature,
        })


def _checkpoint(row: AuditCheckpoint) -> Checkpoint:
    return Checkpoint(row.id, row.at, row.station, row.audit_rows, row.audit_head_id, row.audit_head_hash,
                      row.change_rows, row.change_max_seq, row.pruned_before_id, row.key_id,
                      row.prev_signature, row.signature)


@dataclass(frozen=True)
class ChainHead:
    """The end of the chain as a paper record quotes it."""

    rows: int
    head_id: int
    head_hash: str

    def describe(self) -> str:
        return _("Audit chain head: row {id}, hash {hash} ({rows} rows).").format(
            id=self.head_id, hash=self.head_hash, rows=self.rows)


def chain_head(session: Session) -> ChainHead:
    last = session.execute(select(AuditLog.id, AuditLog.hash).order_by(AuditLog.id.desc()).limit(1)).first()
    rows = int(session.execute(select(func.count(AuditLog.id))).scalar_one())
    return ChainHead(rows, int(last.id) if last else 0, str(last.hash) if last else GENESIS_HASH)


def make_checkpoint(db: Database, key: CheckpointKey, station: str) -> Checkpoint:
    """Sign the chain's head and the row counts as they are now (the agent, every 15 minutes).

    Takes the writers' lock, so no append slips between reading the head and the counts. A
    checkpoint is not itself an audit row: it witnesses the chain and would move the head it signs.
    """
    with db.write() as s:
        serialise_writers(s)
        head = chain_head(s)
        changes = s.execute(select(func.count(ChangeLog.seq), func.max(ChangeLog.seq))).one()
        first = s.execute(select(func.min(AuditLog.id))).scalar()
        prev = s.execute(select(AuditCheckpoint.id, AuditCheckpoint.signature)
                         .order_by(AuditCheckpoint.id.desc()).limit(1)).first()
        unsigned = Checkpoint(
            id=(int(prev.id) + 1) if prev else 1, at=db_now(s), station=station, audit_rows=head.rows,
            audit_head_id=head.head_id, audit_head_hash=head.head_hash, change_rows=int(changes[0]),
            change_max_seq=int(changes[1] or 0), pruned_before_id=int(first or 1), key_id=key.key_id,
            prev_signature=str(prev.signature) if prev else GENESIS_HASH, signature="")
        signed = Checkpoint(**{**unsigned.__dict__, "signature": key.sign(unsigned.payload())})
        s.execute(insert(AuditCheckpoint.__table__).values(**signed.__dict__))
        return signed


def checkpoint_as(db: Database, actor: Actor, key: CheckpointKey) -> Checkpoint:
    """:func:`make_checkpoint` asked for by a signed-in administrator (``audit checkpoint``)."""
    require(actor, "audit.verify")
    return make_checkpoint(db, key, actor.station)


def checkpoint_if_due(db: Database, key: CheckpointKey, station: str) -> Checkpoint | None:
    """The agent's upkeep: a checkpoint when the newest is older than :data:`CHECKPOINT_EVERY`
    and rows were appended since (several agents may run: the first one makes it)."""
    with db.read() as s:
        newest = s.execute(select(AuditCheckpoint.at, AuditCheckpoint.audit_head_id)
                           .order_by(AuditCheckpoint.id.desc()).limit(1)).first()
        head = chain_head(s)
        now = db_now(s)
    if newest is not None and (newest.at > now - CHECKPOINT_EVERY or newest.audit_head_id == head.head_id):
        return None
    return make_checkpoint(db, key, station)


# ---------------------------------------------------------------------------------------------
# Verification.


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows_checked: int
    first_bad_id: int | None
    problem: str | None  # translated, for people
    kind: str | None = None  # "edited" | "deleted" | "reordered" | "recomputed" | "forged"
    checkpoint_id: int | None = None  # the checkpoint the damage contradicts (or the forged one)
    since_checkpoint_id: int | None = None  # the last checkpoint that still holds before it
    checkpoints_checked: int = 0
    signatures_checked: bool = False

    def describe(self) -> str:
        if self.ok:
            text = _("Audit log intact: {n} rows checked, the hash chain is unbroken.").format(n=self.rows_checked)
            if self.checkpoints_checked:
                text += " " + (_("{n} signed checkpoints agree.") if self.signatures_checked else _(
                    "{n} checkpoints agree (their signatures were not checked: no audit key on this "
                    "machine).")).format(n=self.checkpoints_checked)
            return text
        if self.first_bad_id is None:
            return _("Audit log damaged: {problem}").format(problem=self.problem)
        return _("Audit log damaged at row {id}: {problem}").format(id=self.first_bad_id, problem=self.problem)


def _columns() -> list[Any]:
    return [AuditLog.id, AuditLog.at, AuditLog.user_id, AuditLog.username, AuditLog.station,
            AuditLog.action, AuditLog.entity, AuditLog.entity_id, AuditLog.before, AuditLog.after,
            AuditLog.prev_hash, AuditLog.hash]


def _since(checkpoint_id: int | None) -> str:
    if checkpoint_id is None:
        return _("since the log began")
    return _("since checkpoint {id}").format(id=checkpoint_id)


def _pruned_anchor(s: Session, first_id: int) -> str | None:
    """The hash the first kept row links to, when rows before it were pruned (an audited prune)."""
    rows = s.execute(select(AuditLog.after).where(AuditLog.action == "audit.prune").order_by(AuditLog.id.desc()))
    for (after,) in rows:
        if isinstance(after, dict) and after.get("first_kept_id") == first_id:
            return str(after.get("anchor_hash"))
    return None


def verify(db: Database, key: CheckpointKey | None = None) -> VerifyResult:
    """Recompute the chain, then hold it against every checkpoint; report the first thing that does not fit."""
    with db.read() as s:
        checkpoints = [_checkpoint(c) for c in
                       s.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).scalars()]
        first_id = s.execute(select(func.min(AuditLog.id))).scalar()
        expected_id, prev_hash = 1, GENESIS_HASH
        if first_id is not None and first_id > 1:
            anchor = _pruned_anchor(s, int(first_id))
            if anchor is not None:
                expected_id, prev_hash = int(first_id), anchor
        checked = 0
        result = _signatures(checkpoints, key)
        if result is not None:
            return result
        # a row may not be dated before a checkpoint that does not hold it (ascending heads)
        by_head = sorted(checkpoints, key=lambda c: c.audit_head_id)
        next_cp, latest_at, latest_cp = 0, None, None
        rows = s.execute(select(*_columns()).order_by(AuditLog.id).execution_options(yield_per=_BATCH))
        for row in rows:
            data = row._asdict()
            row_id = int(data["id"])
            while next_cp < len(by_head) and by_head[next_cp].audit_head_id < row_id:
                cp = by_head[next_cp]
                if latest_at is None or cp.at > latest_at:
                    latest_at, latest_cp = cp.at, cp
                next_cp += 1
            if row_id != expected_id:
                return _bad(checked, row_id, "deleted", _(
                    "rows {first}–{last} are missing before this row (deleted).").format(
                        first=expected_id, last=row_id - 1), checkpoints, key)
            if data["prev_hash"] != prev_hash:
                return _bad(checked, row_id, "reordered", _(
                    "its link to the previous row is broken (rows reordered, moved or re-linked)."),
                    checkpoints, key)
            if data["hash"] != audit_hash(prev_hash, data):
                return _bad(checked, row_id, "edited", _(
                    "its content does not match its hash (the row was edited)."), checkpoints, key)
            if latest_cp is not None and latest_at is not None and data["at"] < latest_at - BACKDATE_SLACK:
                return _bad(checked, row_id, "forged", _(
                    "it is dated {at}, before checkpoint {cp} (made {cp_at}), which does not hold it: "
                    "it was appended later with a false time (forged).").format(
                        at=fmt_local(data["at"]), cp=latest_cp.id, cp_at=fmt_local(latest_cp.at)),
                    checkpoints, key, checkpoint_id=latest_cp.id)
            checked += 1
            prev_hash = data["hash"]
            expected_id = row_id + 1
        changes = int(s.execute(select(func.count(ChangeLog.seq))).scalar_one())
        if changes > checked and first_id in (None, 1):
            return _bad(checked, expected_id, "deleted", _(
                "the change log records {changes} changes but the audit log ends after {rows} rows "
                "(the last rows were deleted).").format(changes=changes, rows=checked), checkpoints, key)
        return _against_checkpoints(s, checked, checkpoints, key)


def _bad(checked: int, row_id: int | None, kind: str, problem: str, checkpoints: list[Checkpoint],
         key: CheckpointKey | None, *, checkpoint_id: int | None = None) -> VerifyResult:
    since = None
    if row_id is not None:
        held = [c.id for c in checkpoints if c.audit_head_id < row_id]
        since = max(held) if held else None
    return VerifyResult(False, checked, row_id, problem + " " + _("Damaged {since}.").format(since=_since(since)),
                        kind, checkpoint_id, since, len(checkpoints), key is not None)


def _signatures(checkpoints: list[Checkpoint], key: CheckpointKey | None) -> VerifyResult | None:
    prev_signature, expected = GENESIS_HASH, 1
    for cp in checkpoints:
        if cp.id != expected:
            return VerifyResult(False, 0, None, _(
                "checkpoints {first}–{last} are missing before checkpoint {id} (deleted).").format(
                    first=expected, last=cp.id - 1, id=cp.id), "deleted", cp.id, expected - 1 or None,
                len(checkpoints), key is not None)
        if cp.prev_signature != prev_signature:
            return VerifyResult(False, 0, None, _(
                "checkpoint {id} does not follow the checkpoint before it (checkpoints reordered or "
                "forged).").format(id=cp.id), "forged", cp.id, cp.id - 1 or None, len(checkpoints),
                key is not None)
        if key is not None and (cp.key_id != key.key_id
                                or not hmac.compare_digest(cp.signature, key.sign(cp.payload()))):
            return VerifyResult(False, 0, None, _(
                "checkpoint {id} (made {at}) does not verify with the audit key: it was forged or "
                "altered.").format(id=cp.id, at=fmt_local(cp.at)), "forged", cp.id, cp.id - 1 or None,
                len(checkpoints), True)
        prev_signature, expected = cp.signature, cp.id + 1
    return None


def _against_checkpoints(s: Session, checked: int, checkpoints: list[Checkpoint],
                         key: CheckpointKey | None) -> VerifyResult:
    held: int | None = None
    for cp in checkpoints:
        def contradicts(kind: str, problem: str, row: int | None, cp: Checkpoint = cp,
                        held: int | None = held) -> VerifyResult:
            return VerifyResult(False, checked, row, _(
                "checkpoint {id} (made {at}) is contradicted: {problem} Damaged {since}.").format(
                    id=cp.id, at=fmt_local(cp.at), problem=problem, since=_since(held)),
                kind, cp.id, held, len(checkpoints), key is not None)

        head = s.execute(select(AuditLog.hash).where(AuditLog.id == cp.audit_head_id)).scalar()
        if cp.audit_head_id and head is None:
            return contradicts("deleted", _("its head row {row} is gone (rows were deleted).").format(
                row=cp.audit_head_id), cp.audit_head_id)
        if cp.audit_head_id and head != cp.audit_head_hash:
            return contradicts("recomputed", _(
                "row {row} no longer has the hash signed for it: history before it was rewritten and the "
                "chain recomputed.").format(row=cp.audit_head_id), cp.audit_head_id)
        first = int(s.execute(select(func.min(AuditLog.id))).scalar() or 1)
        rows = int(s.execute(select(func.count(AuditLog.id)).where(AuditLog.id <= cp.audit_head_id)).scalar_one())
        expected_rows = cp.audit_rows - max(0, first - cp.pruned_before_id)
        if rows < expected_rows:
            return contradicts("deleted", _("it counted {n} audit rows up to row {row}; {m} are left.").format(
                n=expected_rows, row=cp.audit_head_id, m=rows), None)
        changes = int(s.execute(select(func.count(ChangeLog.seq)).where(ChangeLog.seq <= cp.change_max_seq))
                      .scalar_one())
        if changes < cp.change_rows and first <= cp.pruned_before_id:
            return contradicts("deleted", _("it counted {n} change_log rows up to {seq}; {m} are left.").format(
                n=cp.change_rows, seq=cp.change_max_seq, m=changes), None)
        held = cp.id
    return VerifyResult(True, checked, None, None, None, None, held, len(checkpoints), key is not None)


def verify_as(db: Database, actor: Actor, key: CheckpointKey | None = None) -> VerifyResult:
    """:func:`verify` for a signed-in user (administrators)."""
    require(actor, "audit.verify")
    return verify(db, key)


# ---------------------------------------------------------------------------------------------
# Retention: audit and change rows are kept at least 180 days; pruning is itself audited.


@dataclass(frozen=True)
class PruneResult:
    audit_rows: int
    change_rows: int
    first_kept_id: int | None


def prune(db: Database, actor: Actor, keep_days: int) -> PruneResult:
    """Delete audit and change rows older than ``keep_days`` (at least 180), as one audited step.

    The prune's own audit row records how many rows went and the hash the first kept row links to
    (``anchor_hash``), so :func:`verify` still checks the chain from there. Needs a connection
    allowed to delete (the database owner): the workstation role is not.
    """
    require(actor, "db.admin")
    if keep_days < MIN_RETENTION_DAYS:
        raise ValidationError(_("Audit and change rows are kept at least {n} days.").format(n=MIN_RETENTION_DAYS),
                              "keep_days")
    with db.write() as s:
        serialise_writers(s)
        cutoff = db_now(s) - timedelta(days=keep_days)
        head = chain_head(s)
        # only the oldest rows, up to the first one younger than the cutoff (never a younger row,
        # and never the head: the chain goes on from it)
        young = s.execute(select(func.min(AuditLog.id)).where(AuditLog.at >= cutoff)).scalar()
        first_kept_id = min(int(young) if young is not None else head.head_id, head.head_id)
        first_kept = s.execute(select(AuditLog.id, AuditLog.prev_hash).where(AuditLog.id == first_kept_id)).first()
        oldest = s.execute(select(func.min(AuditLog.id))).scalar()
        if first_kept is None or oldest is None or oldest >= first_kept_id:
            return PruneResult(0, 0, None)
        young_change = s.execute(select(func.min(ChangeLog.seq)).where(ChangeLog.at >= cutoff)).scalar()
        audit_rows = s.execute(delete(AuditLog).where(AuditLog.id < first_kept_id)).rowcount  # type: ignore[attr-defined]
        change_rows = s.execute(delete(ChangeLog).where(  # type: ignore[attr-defined]
            ChangeLog.seq < (young_change if young_change is not None else 0))).rowcount
        record(s, actor, entity="database", entity_id=None, op="prune", action="audit.prune",
               after={"keep_days": keep_days, "before": cutoff, "audit_rows": audit_rows,
                      "change_rows": change_rows, "first_kept_id": int(first_kept.id),
                      "anchor_hash": first_kept.prev_hash})
        return PruneResult(int(audit_rows), int(change_rows), int(first_kept.id))


# ---------------------------------------------------------------------------------------------
# Personal data shown in full is audited.

REVEALABLE = {"reporter_phone": Incident.reporter_phone}


def mask_phone(phone: str | None) -> str | None:
    """A phone as lists show it: the first three and last four digits (``138****8000``)."""
    if not phone:
        return phone
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def reveal(db: Database, actor: Actor, incident_id: int, field: str = "reporter_phone") -> str | None:
    """The field in full, for an officer who asked to see it; the viewing is an audit row."""
    require(actor, "console.sign_in")
    column = REVEALABLE.get(field)
    if column is None:
        raise ValidationError(_("{field} cannot be shown in full.").format(field=field), "field")
    with db.write() as s:
        value = s.execute(select(column).where(Incident.id == incident_id)).first()
        if value is None:
            raise NotFound(_("No incident with id {id}.").format(id=incident_id))
        record(s, actor, entity="incident", entity_id=incident_id, op="view", action="privacy.reveal",
               after={"field": field})
        return value[0]  # type: ignore[no-any-return]
