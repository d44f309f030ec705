"""``dispatch-console db grant``: the restricted PostgreSQL role the workstations log in as.

Run once per database (and again after ``db upgrade`` adds tables) on a superuser connection,
signed in as an administrator. The role may read, insert and update the application's tables and
use their sequences, but may delete nothing, truncate nothing, and never update or delete the
audit log or an incident's timeline (``incident_event``). A trigger on those two tables refuses
UPDATE, DELETE and TRUNCATE from every role but a superuser, as a second lock behind the grants.
"""

from __future__ import annotations

import re

from psycopg import sql
from sqlalchemy import text
from sqlalchemy.orm import Session

from db.engine import Database
from dispatch_console.cli import EXIT_OK, CliContext, Commands
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import record
from dispatch_console.kernel.errors import PermissionDenied, ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require

APPEND_ONLY_TABLES = ("audit_log", "incident_event")
READ_ONLY_TABLES = ("alembic_version",)
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_GUARD_FUNCTION = "dispatch_append_only_guard"

_GUARD_SQL = f"""
CREATE OR REPLACE FUNCTION {_GUARD_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) THEN
        RAISE EXCEPTION 'dispatch-console: % on % is not allowed (append-only table)', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END
$$
"""


def register(commands: Commands) -> None:
    commands.group("db", _("database schema and demo data"))
    p = commands.add_sub("db", "grant", cmd_grant,
                         _("create or update the restricted PostgreSQL role the workstations use "
                           "(superuser connection, administrator)"))
    p.add_argument("--role", default="dispatch_app", help=_("the role's name (default dispatch_app)"))
    p.add_argument("--password-stdin", action="store_true",
                   help=_("read the role's password from the first line of standard input"))


def _is_superuser(s: Session) -> bool:
    return bool(s.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar())


def _execute(s: Session, statement: sql.Composable) -> None:
    """Run composed SQL on the driver connection: bypasses SQLAlchemy's statement log (passwords)."""
    raw = s.connection().connection.driver_connection
    with raw.cursor() as cur:  # type: ignore[union-attr]
        cur.execute(statement)


def grant_app_role(db: Database, actor: Actor, role: str, password: str | None = None) -> None:
    """Create or update the LOGIN role ``role`` with the application's restricted rights."""
    require(actor, "db.admin")
    if not db.is_postgres:
        raise ValidationError(_("Database roles exist on PostgreSQL only; a SQLite file has none."))
    if not _ROLE_NAME.match(role):
        raise ValidationError(_("A role name is 1–63 lower-case letters, digits or underscores."), "role")
    if password is not None and "\x00" in password:
        raise ValidationError(_("A password may not contain the NUL character."), "password")
    r = sql.Identifier(role)
    with db.write() as s:
        if not _is_superuser(s):
            raise PermissionDenied(_("db grant needs a superuser connection (--db with a superuser)."))
        exists = s.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
        verb = "ALTER" if exists else "CREATE"
        limits = " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"
        _execute(s, sql.SQL(verb + limits).format(r))
        if password:
            _execute(s, sql.SQL("ALTER ROLE {} PASSWORD {}").format(r, sql.Literal(password)))
        database = s.execute(text("SELECT current_database()")).scalar_one()
        for statement in (
            "GRANT CONNECT ON DATABASE {db} TO {r}",
            "GRANT USAGE ON SCHEMA public TO {r}",
            "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {r}",
            "GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {r}",
            "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {r}",
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}",
        ):
            _execute(s, sql.SQL(statement).format(db=sql.Identifier(database), r=r))
        for table in READ_ONLY_TABLES:
            _execute(s, sql.SQL("REVOKE INSERT, UPDATE ON {} FROM {}").format(sql.Identifier(table), r))
        for table in APPEND_ONLY_TABLES:
            t = sql.Identifier(table)
            _execute(s, sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(t, r))
        s.execute(text(_GUARD_SQL))
        for table in APPEND_ONLY_TABLES:
            t = sql.Identifier(table)
            trigger = sql.Identifier(f"{table}_append_only")
            _execute(s, sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(trigger, t))
            guard = sql.Identifier(_GUARD_FUNCTION)
            _execute(s, sql.SQL(
                "CREATE TRIGGER {} BEFORE UPDATE OR DELETE OR TRUNCATE ON {} "
                "FOR EACH STATEMENT EXECUTE FUNCTION {}()").format(trigger, t, guard))
        record(s, actor, entity="user", entity_id=None, op="update", action="db.grant_role",
               after={"db_role": role, "password_set": bool(password), "database": database})


def cmd_grant(ctx: CliContext) -> int:
    from dispatch_console.cli.users import read_new_password

    actor = ctx.actor()
    require(actor, "db.admin")
    password = read_new_password(ctx.args, ctx.args.role) if ctx.args.password_stdin else None
    db = ctx.database()
    grant_app_role(db, actor, ctx.args.role, password)
    print(_("Role {role} on {url}: may read, add and update; may not delete, truncate, or change "
            "audit_log and incident_event.").format(role=ctx.args.role, url=db.display_url))
    return EXIT_OK
