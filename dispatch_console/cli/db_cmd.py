"""``dispatch-console db upgrade | db seed-demo``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dispatch_console.cli import EXIT_OK, CliContext, Commands
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.i18n import _

if TYPE_CHECKING:
    from db.engine import Database


def register(commands: Commands) -> None:
    commands.group("db", _("database schema and demo data"))
    commands.add_sub("db", "upgrade", cmd_upgrade, _("apply schema migrations"))
    commands.add_sub("db", "seed-demo", cmd_seed_demo,
                     _("fill an empty database with the demo jurisdiction 桃源街道 (deterministic)"))
    commands.add_sub("db", "status", cmd_status, _("show the schema revision"))


def cmd_upgrade(ctx: CliContext) -> int:
    from db.migrate import schema_status, upgrade

    db = ctx.database(check_schema=False)
    before = schema_status(db)
    upgrade(db)
    after = schema_status(db)
    print(_("{url}: schema {before} → {after}").format(
        url=db.display_url, before=before.current or "-", after=after.current))
    if before.current != after.current and roles_were_granted(db):
        print(_("The schema changed: run db grant again (as a superuser) so the workstation and "
                "administration roles get exactly their rights on the new tables."))
    return EXIT_OK


def roles_were_granted(db: Database) -> bool:
    """Whether ``db grant`` ever ran on this database (its guard function is there)."""
    from sqlalchemy import text

    if not db.is_postgres:
        return False
    with db.read() as s:
        return s.execute(text("SELECT 1 FROM pg_proc WHERE proname = 'dispatch_append_only_guard'")).first() \
            is not None


def cmd_status(ctx: CliContext) -> int:
    from db.migrate import schema_status

    db = ctx.database(check_schema=False)
    st = schema_status(db)
    print(f"{db.display_url}: {st.state} (current {st.current or '-'}, head {st.head})")
    return EXIT_OK if st.ok else 1


def cmd_seed_demo(ctx: CliContext) -> int:
    """Seed the demo data: an administrator's sign-in, and a demo database only.

    On a database that holds nothing at all (no account to sign in with, nothing to take over)
    this is the demo database's creation: it is marked demo and seeded. A demo database already
    seeded is left alone (nothing is written, so nobody needs to sign in). Anything else needs
    ``--user``/``--password`` of an administrator, and a database holding a site's real data is
    refused whoever asks.
    """
    from db.migrate import upgrade
    from dispatch_console.demo.database import NotADemoDatabase, demo_state
    from dispatch_console.demo.seed import existing_summary, seed_demo
    from dispatch_console.users import count_users

    db = ctx.database(check_schema=False)
    upgrade(db)
    state = demo_state(db)
    if state == "site":
        raise NotADemoDatabase(_(
            "{url} is not a demo database: it holds accounts or records that are not demo data, so no "
            "demo data (and no demo account) is written into it.").format(url=db.display_url))
    if state == "empty" or (state == "demo" and count_users(db) == 0):
        summary = seed_demo(db, Actor.system(ctx.station))  # the creation of a demo database
    else:
        summary = existing_summary(db)
        if summary is None:
            summary = seed_demo(db, ctx.actor())
    print(summary.describe())
    return EXIT_OK
