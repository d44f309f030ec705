"""Depots, the supplies catalogue and the stock ledger (入库、出库、调拨、盘点).

The catalogue (``policies/supplies.toml``) names each item with its unit and the minimum a depot
should hold. The ledger (``stock_movement``) is append-only — triggers refuse UPDATE and DELETE on
both backends — and a depot's stock of an item is always the sum of its lines: a receipt adds, an
issue to an incident subtracts, a transfer is two lines (out of one depot, into the other), and a
count (盘点) adds the difference between what was counted and what the ledger says, with a reason.

Every movement takes the writers' lock first and checks the balance inside the same transaction,
so two officers issuing the last 10 sandbags at once cannot both succeed: the second is told the
stock is short. A movement that leaves a depot below its minimum raises a warning for the shift
leader, in the same transaction (and again when it runs out).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Area, Depot, Incident, StockMovement
from dispatch_console.checklists.templates import TemplateError, _load, _need, _SchemaError
from dispatch_console.incidents.queue import find_incident_id
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import record, serialise_writers
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.errors import NotFound, ValidationError
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.permissions import require
from dispatch_console.notifications.service import notify

CATALOGUE = "policies/supplies.toml"
MAX_QUANTITY = 1_000_000
REASON_MAX = 500
KINDS = ("receive", "issue", "transfer", "count")
KIND_LABELS: dict[str, str] = {
    "receive": N_("received"),
    "issue": N_("issued"),
    "transfer_out": N_("transferred out"),
    "transfer_in": N_("transferred in"),
    "count": N_("stock count"),
}
_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    unit: str
    minimum: int
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalogue:
    version: str
    items: tuple[Item, ...]

    def get(self, code: str) -> Item | None:
        return next((i for i in self.items if i.code == code), None)

    def find(self, text: str) -> Item | None:
        """The item a person typed: its code, name or an alias (full-width and spaces ignored)."""
        key = normalise(text)
        for item in self.items:
            if key in (item.code, normalise(item.name), *(normalise(a) for a in item.aliases)):
                return item
        return None


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits become plain), no spaces, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).lower()


def parse_catalogue(data: dict[str, Any], path: str = "") -> Catalogue:
    version = _need(data, "version", (str, int, float), (None, None))
    raws = _need(data, "items", dict, (None, None))
    items: list[Item] = []
    names: set[str] = set()
    for code, raw in raws.items():
        where = (f"items.{code}", None)
        if not _CODE_RE.match(code):
            raise _SchemaError(_("item code \"{code}\" must be lower-case letters, digits and _").format(code=code),
                               *where, None)
        if not isinstance(raw, dict):
            raise _SchemaError(_("an item must be a table"), *where, None)
        name = _need(raw, "name", str, where).strip()
        unit = _need(raw, "unit", str, where).strip()
        minimum = _need(raw, "minimum", int, where, required=False) or 0
        if not name or not unit or len(name) > 100 or len(unit) > 16:
            raise _SchemaError(_("an item needs a name and a unit"), *where, "name")
        if not 0 <= minimum <= MAX_QUANTITY:
            raise _SchemaError(_("minimum must be between 0 and {n}").format(n=MAX_QUANTITY), *where, "minimum")
        aliases = _need(raw, "aliases", list, where, required=False) or []
        if not all(isinstance(a, str) and a.strip() for a in aliases):
            raise _SchemaError(_("\"{key}\" must be a list of texts").format(key="aliases"), *where, "aliases")
        for word in [name, *aliases]:
            if normalise(word) in names:
                raise _SchemaError(_("\"{name}\" names two items").format(name=word), *where, "name")
            names.add(normalise(word))
        for extra in raw:
            if extra not in {"name", "unit", "minimum", "aliases"}:
                raise _SchemaError(_("unknown key \"{key}\"").format(key=extra), *where, extra)
        items.append(Item(code, name, unit, minimum, tuple(aliases)))
    return Catalogue(str(version), tuple(items))


def load_catalogue(resources: Resources) -> tuple[Catalogue, list[TemplateError]]:
    """The catalogue in force; a broken site file is reported and an empty catalogue used."""
    catalogue, error = _load(resources.path(CATALOGUE), parse_catalogue)
    if error is not None:
        return Catalogue("", ()), [error]
    assert isinstance(catalogue, Catalogue)
    return catalogue, []


# ---------------------------------------------------------------------------------------------
# Depots.


@dataclass(frozen=True)
class DepotRow:
    id: int
    code: str
    name: str
    community: str | None
    address: str | None
    lon: float | None
    lat: float | None
    contact_name: str | None
    phone: str | None


def _depot_row(d: Depot, community: str | None) -> DepotRow:
    return DepotRow(d.id, d.code, d.name, community, d.address, d.lon, d.lat, d.contact_name, d.phone)


def add_depot(db: Database, actor: Actor, *, code: str, name: str, community_id: int | None = None,
              address: str | None = None, lon: float | None = None, lat: float | None = None,
              contact_name: str | None = None, phone: str | None = None) -> DepotRow:
    require(actor, "supplies.manage")
    code, name = code.strip(), name.strip()
    if not code or not name or len(code) > 64 or len(name) > 200:
        raise ValidationError(_("A depot needs a code and a name."), "name")
    with db.write() as s:
        serialise_writers(s)
        if s.execute(select(Depot.id).where((Depot.code == code) | (Depot.name == name))).first():
            raise ValidationError(_("A depot {name} ({code}) exists already.").format(name=name, code=code), "code")
        now = db_now(s)
        depot = Depot(code=code, name=name, community_id=community_id, address=address, lon=lon, lat=lat,
                      contact_name=contact_name, phone=phone, active=True, version=1, updated_at=now)
        s.add(depot)
        s.flush()
        record(s, actor, entity="depot", entity_id=depot.id, op="create", action="depot.create",
               after={"code": code, "name": name, "community_id": community_id}, at=now)
        community = s.get(Area, community_id).name if community_id else None  # type: ignore[union-attr]
        return _depot_row(depot, community)


def list_depots(db: Database) -> list[DepotRow]:
    with db.read() as s:
        rows = s.execute(select(Depot, Area.name).outerjoin(Area, Area.id == Depot.community_id)
                         .where(Depot.active.is_(True)).order_by(Depot.code)).all()
        return [_depot_row(d, community) for d, community in rows]


def _find_depot(session: Session, key: str | int) -> Depot:
    if isinstance(key, int):
        depot = session.get(Depot, key)
    else:
        text = key.strip()
        depot = session.execute(select(Depot).where((Depot.code == text) | (Depot.name == text))).scalar()
    if depot is None or not depot.active:
        raise NotFound(_("No depot {key}.").format(key=key))
    return depot


# ---------------------------------------------------------------------------------------------
# The ledger.


@dataclass(frozen=True)
class MovementRow:
    id: int
    at: datetime
    depot: str
    item: str
    kind: str
    quantity: int
    balance: int
    incident_number: str | None
    other_depot: str | None
    reason: str | None
    username: str | None

    @property
    def kind_label(self) -> str:
        return _(KIND_LABELS[self.kind]) if self.kind in KIND_LABELS else self.kind


def balance(session: Session, depot_id: int, item: str) -> int:
    return int(session.execute(select(func.coalesce(func.sum(StockMovement.quantity), 0)).where(
        StockMovement.depot_id == depot_id, StockMovement.item == item)).scalar() or 0)


def _check_quantity(quantity: int, *, allow_zero: bool = False) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not (
            quantity >= 0 if allow_zero else quantity > 0) or quantity > MAX_QUANTITY:
        raise ValidationError(_("The quantity must be a whole number from 1 to {n}.").format(n=MAX_QUANTITY)
                              if not allow_zero else
                              _("The counted quantity must be a whole number from 0 to {n}.").format(n=MAX_QUANTITY),
                              "quantity")


def move(db: Database, actor: Actor, catalogue: Catalogue, *, kind: str, depot: str | int, item: str,
         quantity: int, incident: str | int | None = None, to_depot: str | int | None = None,
         reason: str | None = None) -> list[MovementRow]:
    """Record one movement (a transfer is two lines); the rows written, with the balance after each."""
    require(actor, "supplies.move")
    if kind not in KINDS:
        raise ValidationError(_("A movement is one of {kinds}.").format(kinds=", ".join(KINDS)), "kind")
    found = catalogue.find(item) if isinstance(item, str) else None
    if found is None:
        raise ValidationError(_("\"{item}\" is not in the supplies catalogue.").format(item=item), "item")
    _check_quantity(quantity, allow_zero=kind == "count")
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > REASON_MAX:
        raise ValidationError(_("The reason is at most {n} characters.").format(n=REASON_MAX), "reason")
    if kind == "count" and reason is None:
        raise ValidationError(_("A stock count correction needs a reason."), "reason")
    if kind == "transfer" and to_depot is None:
        raise ValidationError(_("A transfer needs the depot it goes to."), "to_depot")
    with db.write() as s:
        serialise_writers(s)  # the balance read below stays true until this transaction commits
        now = db_now(s)
        source = _find_depot(s, depot)
        incident_id = find_incident_id(s, incident) if incident is not None else None
        current = balance(s, source.id, found.code)
        lines: list[tuple[Depot, str, int, Depot | None]] = []
        if kind == "receive":
            lines.append((source, "receive", quantity, None))
        elif kind == "count":
            if quantity == current:
                raise ValidationError(_("The count matches the ledger ({n} {unit}): nothing to correct.").format(
                    n=current, unit=found.unit), "quantity")
            lines.append((source, "count", quantity - current, None))
        else:
            if quantity > current:
                raise ValidationError(_("Stock is short: {depot} has {n} {unit} of {item}, {wanted} asked.").format(
                    depot=source.name, n=current, unit=found.unit, item=found.name, wanted=quantity), "quantity")
            if kind == "issue":
                lines.append((source, "issue", -quantity, None))
            else:
                target = _find_depot(s, to_depot)  # type: ignore[arg-type]
                if target.id == source.id:
                    raise ValidationError(_("A transfer goes to another depot."), "to_depot")
                lines += [(source, "transfer_out", -quantity, target), (target, "transfer_in", quantity, source)]
        written: list[MovementRow] = []
        for where, line_kind, delta, other in lines:
            row = StockMovement(at=now, depot_id=where.id, item=found.code, kind=line_kind, quantity=delta,
                                incident_id=incident_id, other_depot_id=other.id if other else None, reason=reason,
                                user_id=actor.user_id, username=actor.username, station=actor.station)
            s.add(row)
            s.flush()
            after = balance(s, where.id, found.code)
            record(s, actor, entity="stock", entity_id=row.id, op="create", action=f"stock.{line_kind}",
                   after={"depot": where.code, "item": found.code, "quantity": delta, "balance": after,
                          "incident_id": incident_id, "reason": reason}, at=now)
            written.append(MovementRow(row.id, now, where.name, found.code, line_kind, delta, after,
                                       _incident_number(s, incident_id), other.name if other else None, reason,
                                       actor.username))
            # Told when it first drops below the minimum, and again when nothing is left.
            if delta < 0 and after < found.minimum and (after - delta >= found.minimum or after == 0):
                notify(s, kind="stock_low", level="warning", target_role="shift_leader",
                       title=_("{depot}: {item} below minimum ({n} {unit} left, minimum {minimum})").format(
                           depot=where.name, item=found.name, n=after, unit=found.unit, minimum=found.minimum),
                       body=None, incident_id=incident_id, actor=actor, external=False, at=now)
        return written


def _incident_number(session: Session, incident_id: int | None) -> str | None:
    return session.get(Incident, incident_id).number if incident_id else None  # type: ignore[union-attr]


def ledger(db: Database, *, depot: str | int | None = None, limit: int = 500) -> list[MovementRow]:
    """The latest movements (of one depot), the newest first, with the balance after each."""
    with db.read() as s:
        stmt = select(StockMovement).order_by(StockMovement.id)
        if depot is not None:
            stmt = stmt.where(StockMovement.depot_id == _find_depot(s, depot).id)
        depots = {d.id: d.name for d in s.execute(select(Depot)).scalars()}
        running: dict[tuple[int, str], int] = {}
        out: list[MovementRow] = []
        for m in s.execute(stmt).scalars():
            key = (m.depot_id, m.item)
            running[key] = running.get(key, 0) + m.quantity
            out.append(MovementRow(m.id, m.at, depots[m.depot_id], m.item, m.kind, m.quantity, running[key],
                                   _incident_number(s, m.incident_id),
                                   depots.get(m.other_depot_id) if m.other_depot_id else None, m.reason, m.username))
        return list(reversed(out))[:limit]


# ---------------------------------------------------------------------------------------------
# Stock: one row per depot and item.


@dataclass(frozen=True)
class StockRow:
    depot_id: int
    depot: str
    community: str | None
    item: str
    name: str
    unit: str
    quantity: int
    minimum: int

    @property
    def below_minimum(self) -> bool:
        return self.quantity < self.minimum


def stock(db: Database, catalogue: Catalogue, *, depot_ids: Iterable[int] | None = None,
          all_items: bool = False) -> list[StockRow]:
    """The balance of every depot and item (``all_items``: items a depot never held too, at 0)."""
    with db.read() as s:
        return stock_in(s, catalogue, depot_ids=depot_ids, all_items=all_items)


def stock_in(session: Session, catalogue: Catalogue, *, depot_ids: Iterable[int] | None = None,
             all_items: bool = False) -> list[StockRow]:
    depots = session.execute(select(Depot, Area.name).outerjoin(Area, Area.id == Depot.community_id)
                             .where(Depot.active.is_(True)).order_by(Depot.code)).all()
    wanted = set(depot_ids) if depot_ids is not None else None
    sums: dict[tuple[int, str], int] = {
        (int(d), str(i)): int(q) for d, i, q in session.execute(
            select(StockMovement.depot_id, StockMovement.item, func.sum(StockMovement.quantity))
            .group_by(StockMovement.depot_id, StockMovement.item))}
    rows: list[StockRow] = []
    for depot, community in depots:
        if wanted is not None and depot.id not in wanted:
            continue
        held = {item for (d, item) in sums if d == depot.id}
        for item in catalogue.items:
            if item.code in held or all_items:
                rows.append(StockRow(depot.id, depot.name, community, item.code, item.name, item.unit,
                                     sums.get((depot.id, item.code), 0), item.minimum))
        for code in sorted(held - {i.code for i in catalogue.items}):  # an item the site removed from its file
            rows.append(StockRow(depot.id, depot.name, community, code, code, "", sums[(depot.id, code)], 0))
    return rows


def community_id(db: Database, key: str) -> int:
    """A community by code or name (for a depot or a shelter given on the command line)."""
    with db.read() as s:
        found = s.execute(select(Area.id).where(Area.level == "community",
                                                (Area.code == key.strip()) | (Area.name == key.strip()))).scalar()
        if found is None:
            raise NotFound(_("No community {key}.").format(key=key))
        return int(found)
