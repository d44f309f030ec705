"""The demo database: created, migrated, marked demo and seeded in one step (``--demo``, ``make run``).

What makes a database a demo database, and why only such a one takes demo data, is in
:mod:`dispatch_console.demo.marking`.
"""

from __future__ import annotations

from db.engine import Database
from db.migrate import upgrade
from dispatch_console.demo.marking import (  # noqa: F401  (re-exported)
    DEMO,
    KIND_KEY,
    NotADemoDatabase,
    claim_for_demo,
    demo_state,
    holds_anything,
    is_marked_demo,
    mark_new_demo_database,
)
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.i18n import _


def prepare_demo_database(url: str, actor: Actor) -> bool:
    """Create the demo database: upgrade the schema, mark it demo and seed it if it is empty.

    Returns True when it seeded. Safe to call on every start of a demo database; refuses (with
    :class:`NotADemoDatabase`) a database that holds a site's real data.
    """
    from dispatch_console.demo.seed import seed_demo

    db = Database(url)
    try:
        upgrade(db)
        if demo_state(db) == "site":
            raise NotADemoDatabase(_(
                "{url} is not a demo database: it holds accounts or records that are not demo data, so no "
                "demo data (and no demo account) is written into it.").format(url=db.display_url))
        return not seed_demo(db, actor).already_seeded
    finally:
        db.dispose()
