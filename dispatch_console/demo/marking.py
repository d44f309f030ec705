"""Demo databases: marked as such when created, and the only ones demo data may go into.

A database is a demo database when its ``site_setting`` row ``database_kind`` says ``demo``. That
row is written only on a database that holds nothing yet (no account, no record: nothing to take
over), by the demo database's creation (``--demo``, ``make run``) or by the first ``db
seed-demo`` on an empty database. Seeding refuses every other database: one without the mark that
holds any row, and a marked one that has gained an account that is not a demo account. So the
demo accounts (password ``demo``) can never appear beside a site's real administrator.

A demo database made before the mark existed (every account a demo account, the demo street
there) is recognised and marked on its next start.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import (
    Area,
    AuditLog,
    ChangeLog,
    Handover,
    Incident,
    Person,
    RosterEntry,
    SiteSetting,
    Unit,
    User,
)
from dispatch_console.kernel.changes import serialise_writers
from dispatch_console.kernel.errors import DispatchError
from dispatch_console.kernel.i18n import _

KIND_KEY = "database_kind"
DEMO = "demo"
# Tables whose rows are a site's data (any row there makes an unmarked database "not empty").
_DATA_TABLES = (User, Area, Person, Unit, Incident, RosterEntry, Handover, AuditLog, ChangeLog)


class NotADemoDatabase(DispatchError):
    """Demo data was asked for in a database that holds a site's real data."""


def is_marked_demo(session: Session) -> bool:
    return session.execute(select(SiteSetting.value).where(SiteSetting.key == KIND_KEY)).scalar() == DEMO


def holds_anything(session: Session) -> bool:
    return any(session.execute(select(exists().select_from(model.__table__))).scalar()  # type: ignore[attr-defined]
               for model in _DATA_TABLES)


def _real_accounts(session: Session) -> list[str]:
    return list(session.execute(select(User.username).where(User.is_demo.is_(False)).order_by(User.id)
                                .limit(3)).scalars())


def _looks_like_an_old_demo(session: Session) -> bool:
    from dispatch_console.demo.plan import STREET_CODE

    has_demo_account = session.execute(select(exists().where(User.is_demo.is_(True)))).scalar()
    has_street = session.execute(select(exists().where(Area.level == "street", Area.code == STREET_CODE))).scalar()
    return bool(has_demo_account and has_street) and not _real_accounts(session)


def _mark(session: Session) -> None:
    session.add(SiteSetting(key=KIND_KEY, value=DEMO, set_at=db_now(session)))
    session.flush()


def claim_for_demo(session: Session, url: str) -> None:
    """Inside the seed's write transaction: make sure this is (or becomes) a demo database.

    Marks an empty database (and an old demo one); raises :class:`NotADemoDatabase` for any
    other, naming why.
    """
    serialise_writers(session)  # two starts at once: one marks, the other sees the mark
    if is_marked_demo(session):
        real = _real_accounts(session)
        if real:
            raise NotADemoDatabase(_(
                "{url} is a demo database that now holds accounts that are not demo accounts ({names}); "
                "demo data is not seeded beside them.").format(url=url, names=", ".join(real)))
        return
    if not holds_anything(session) or _looks_like_an_old_demo(session):
        _mark(session)
        return
    raise NotADemoDatabase(_(
        "{url} is not a demo database: it holds accounts or records that are not demo data, so no "
        "demo data (and no demo account) is written into it.").format(url=url))


def mark_new_demo_database(db: Database) -> None:
    """Mark an empty database as a demo database (before anything else is written into it)."""
    with db.write() as s:
        claim_for_demo(s, db.display_url)


def demo_state(db: Database) -> str:
    """``"empty"`` (nothing in it yet), ``"demo"`` (marked, or an old demo) or ``"site"`` (real data)."""
    with db.read() as s:
        if is_marked_demo(s) or _looks_like_an_old_demo(s):
            return "demo" if not _real_accounts(s) else "site"
        return "site" if holds_anything(s) else "empty"
