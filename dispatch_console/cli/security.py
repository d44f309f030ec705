"""``dispatch-console db grant``: the PostgreSQL roles the workstations and the administrators use.

Run on a superuser connection, signed in as an administrator, once per database and again after
every ``db upgrade`` (it is idempotent; ``db upgrade`` says when to). It makes two LOGIN roles:

* the **workstation role** (``--role``, default ``dispatch_app``): reads everything; inserts and
  updates the working tables (incidents, assignments, checklists, timers, notifications, rosters,
  handovers …); may only *append* to ``audit_log``, ``change_log``, ``incident_event`` (the
  timeline) and ``audit_checkpoint``; may not insert accounts, and of ``app_user`` may update only
  the sign-in bookkeeping columns (``failed_attempts``, ``locked_until``, ``last_login_at``). A
  new own password goes through ``dispatch_set_own_password`` (migration 0006, SECURITY DEFINER,
  compare-and-swap on the current hash). It deletes and truncates nothing.
* the **administrator role** (``--admin-role``, default ``<role>_admin``): the same, plus insert
  and update of every column of ``app_user`` (account administration: ``users add``,
  ``set-role``, ``reset-password``, ``disable``). Workstations are not members of it.

Column privileges say *which* columns a role may write; they cannot say that a write must be
audited. Two triggers add that:

* ``dispatch_append_only_guard``: UPDATE, DELETE and TRUNCATE on the append-only tables are
  refused for every role but a superuser, even one granted too much;
* ``dispatch_require_audit``: a deferred constraint trigger on ``incident`` (insert, update) and
  ``incident_event`` (insert) refuses the commit unless the same transaction appended to
  ``audit_log`` (an AFTER INSERT trigger on ``audit_log`` notes the transaction's id in
  ``dispatch_audit_xact``, a table no login role may write). The application always does: every
  write calls ``changes.record`` in its transaction.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from dispatch_console.cli import EXIT_OK, CliContext, Commands
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import PermissionDenied, ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require

if TYPE_CHECKING:
    from psycopg import sql
    from sqlalchemy.orm import Session

    from db.engine import Database

# Tables a workstation may only append to (and the guard trigger protects from everyone).
APPEND_ONLY_TABLES = ("audit_log", "change_log", "incident_event", "audit_checkpoint",
                      # dispatch assistance (migration 0011): corrected by a new line, never edited
                      "incident_answers", "dispatch_proposal", "stock_movement", "shelter_movement")
# Tables a workstation appends to and may update only these columns of: a transfer package sent or
# taken is the record of what crossed between two duty rooms; only its delivery is noted later.
COLUMN_UPDATE_TABLES: dict[str, tuple[str, ...]] = {"transfer_package": ("delivered_at",)}
# Tables a workstation may only read.
READ_ONLY_TABLES = ("alembic_version", "site_setting")
# The accounts: the workstation role may update only these columns (sign-in bookkeeping).
ACCOUNTS_TABLE = "app_user"
SIGN_IN_COLUMNS = ("failed_attempts", "locked_until", "last_login_at")
# Tables whose changes must come with an audit row in the same transaction.
AUDITED_TABLES = {"incident": "INSERT OR UPDATE", "incident_event": "INSERT"}
OWN_PASSWORD_FUNCTION = "dispatch_set_own_password(integer, text, text)"

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_GUARD_FUNCTION = "dispatch_append_only_guard"
_AUDIT_MARK_FUNCTION = "dispatch_mark_audited_xact"
_REQUIRE_AUDIT_FUNCTION = "dispatch_require_audit"
_AUDIT_XACT_TABLE = "dispatch_audit_xact"

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

_AUDIT_XACT_SQL = f"""
CREATE TABLE IF NOT EXISTS {_AUDIT_XACT_TABLE} (xact xid8 PRIMARY KEY)
"""

# SECURITY DEFINER: runs as the superuser who ran db grant; login roles cannot write the table.
_AUDIT_MARK_SQL = f"""
CREATE OR REPLACE FUNCTION {_AUDIT_MARK_FUNCTION}() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO {_AUDIT_XACT_TABLE} (xact) VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
    IF FOUND THEN  -- once per transaction: forget the transactions nobody can still be in
        DELETE FROM {_AUDIT_XACT_TABLE} WHERE xact < pg_snapshot_xmin(pg_current_snapshot());
    END IF;
    RETURN NULL;
END
$$
"""

_REQUIRE_AUDIT_SQL = f"""
CREATE OR REPLACE FUNCTION {_REQUIRE_AUDIT_FUNCTION}() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = session_user), false) THEN
        RETURN NULL;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM {_AUDIT_XACT_TABLE} WHERE xact = pg_current_xact_id()) THEN
        RAISE EXCEPTION 'dispatch-console: % on % without an audit row in the same transaction is not allowed',
            TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END
$$
"""


def register(commands: Commands) -> None:
    commands.group("db", _("database schema and demo data"))
    p = commands.add_sub("db", "grant", cmd_grant,
                         _("create or update the restricted PostgreSQL roles of the workstations and of "
                           "account administration (superuser connection, administrator)"))
    p.add_argument("--role", default="dispatch_app", help=_("the workstation role's name (default dispatch_app)"))
    p.add_argument("--admin-role", default=None,
                   help=_("the account administration role's name (default: the workstation role's "
                          "name followed by _admin)"))
    p.add_argument("--password-stdin", action="store_true",
                   help=_("read the workstation role's password from the first line of standard input "
                          "and the administration role's from the second (if any)"))


def _is_superuser(s: Session) -> bool:
    from sqlalchemy import text

    return bool(s.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar())


def _execute(s: Session, statement: sql.Composable) -> None:
    """Run composed SQL on the driver connection: bypasses SQLAlchemy's statement log (passwords)."""
    raw = s.connection().connection.driver_connection
    with raw.cursor() as cur:  # type: ignore[union-attr]
        cur.execute(statement)


def admin_role_name(role: str) -> str:
    return f"{role}_admin"[:63]


def _check_role_name(role: str) -> None:
    if not _ROLE_NAME.match(role):
        raise ValidationError(_("A role name is 1–63 lower-case letters, digits or underscores."), "role")


def _login_role(s: Session, role: str, password: str | None) -> None:
    from psycopg import sql
    from sqlalchemy import text

    r = sql.Identifier(role)
    exists = s.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    verb = "ALTER" if exists else "CREATE"
    _execute(s, sql.SQL(verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS").format(r))
    if password:
        _execute(s, sql.SQL("ALTER ROLE {} PASSWORD {}").format(r, sql.Literal(password)))


def _tables(s: Session) -> list[str]:
    from sqlalchemy import text

    return [str(t) for t in s.execute(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")).scalars()]


def _grant_working_rights(s: Session, role: str, database: str, *, accounts: bool) -> None:
    """The rights of a role (both roles share them; ``accounts`` adds account administration)."""
    from psycopg import sql
    from sqlalchemy import text

    r = sql.Identifier(role)
    for statement in (
        "GRANT CONNECT ON DATABASE {db} TO {r}",
        "GRANT USAGE ON SCHEMA public TO {r}",
        "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {r}",
        "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {r}",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}",
        "REVOKE ALL ON FUNCTION " + OWN_PASSWORD_FUNCTION + " FROM {r}",
        "GRANT EXECUTE ON FUNCTION " + OWN_PASSWORD_FUNCTION + " TO {r}",
    ):
        _execute(s, sql.SQL(statement).format(db=sql.Identifier(database), r=r))
    for table in _tables(s):
        t = sql.Identifier(table)
        if table == _AUDIT_XACT_TABLE:
            continue  # written by its SECURITY DEFINER trigger only
        # column privileges granted earlier survive a table-level REVOKE: take them back too
        columns = [str(c) for c in s.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = :t"), {"t": table}).scalars()]
        if columns:
            _execute(s, sql.SQL("REVOKE ALL ({}) ON {} FROM {}").format(
                sql.SQL(", ").join(sql.Identifier(c) for c in columns), t, r))
        _execute(s, sql.SQL("GRANT SELECT ON {} TO {}").format(t, r))
        if table in READ_ONLY_TABLES:
            continue
        if table in APPEND_ONLY_TABLES:
            _execute(s, sql.SQL("GRANT INSERT ON {} TO {}").format(t, r))
        elif table in COLUMN_UPDATE_TABLES:
            _execute(s, sql.SQL("GRANT INSERT ON {} TO {}").format(t, r))
            _execute(s, sql.SQL("GRANT UPDATE ({}) ON {} TO {}").format(
                sql.SQL(", ").join(sql.Identifier(c) for c in COLUMN_UPDATE_TABLES[table]), t, r))
        elif table == ACCOUNTS_TABLE:
            if accounts:
                _execute(s, sql.SQL("GRANT INSERT, UPDATE ON {} TO {}").format(t, r))
            else:
                _execute(s, sql.SQL("GRANT UPDATE ({}) ON {} TO {}").format(
                    sql.SQL(", ").join(sql.Identifier(c) for c in SIGN_IN_COLUMNS), t, r))
        else:
            _execute(s, sql.SQL("GRANT INSERT, UPDATE ON {} TO {}").format(t, r))
    if not accounts:
        _execute(s, sql.SQL("REVOKE USAGE, SELECT ON SEQUENCE app_user_id_seq FROM {}").format(r))


def _install_triggers(s: Session) -> None:
    from psycopg import sql
    from sqlalchemy import text

    s.execute(text(_GUARD_SQL))
    s.execute(text(_AUDIT_XACT_SQL))
    _execute(s, sql.SQL("REVOKE ALL ON {} FROM PUBLIC").format(sql.Identifier(_AUDIT_XACT_TABLE)))
    s.execute(text(_AUDIT_MARK_SQL))
    s.execute(text(_REQUIRE_AUDIT_SQL))
    guard = sql.Identifier(_GUARD_FUNCTION)
    for table in APPEND_ONLY_TABLES:
        t = sql.Identifier(table)
        trigger = sql.Identifier(f"{table}_append_only")
        _execute(s, sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(trigger, t))
        _execute(s, sql.SQL(
            "CREATE TRIGGER {} BEFORE UPDATE OR DELETE OR TRUNCATE ON {} "
            "FOR EACH STATEMENT EXECUTE FUNCTION {}()").format(trigger, t, guard))
    mark = sql.Identifier("audit_log_marks_xact")
    _execute(s, sql.SQL("DROP TRIGGER IF EXISTS {} ON audit_log").format(mark))
    _execute(s, sql.SQL("CREATE TRIGGER {} AFTER INSERT ON audit_log FOR EACH STATEMENT "
                        "EXECUTE FUNCTION {}()").format(mark, sql.Identifier(_AUDIT_MARK_FUNCTION)))
    for table, events in AUDITED_TABLES.items():
        t = sql.Identifier(table)
        trigger = sql.Identifier(f"{table}_requires_audit")
        _execute(s, sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(trigger, t))
        _execute(s, sql.SQL(
            "CREATE CONSTRAINT TRIGGER {} AFTER " + events + " ON {} DEFERRABLE INITIALLY DEFERRED "
            "FOR EACH ROW EXECUTE FUNCTION {}()").format(trigger, t, sql.Identifier(_REQUIRE_AUDIT_FUNCTION)))


def grant_app_role(db: Database, actor: Actor, role: str, password: str | None = None, *,
                   admin_role: str | None = None, admin_password: str | None = None) -> str:
    """Create or update the workstation role ``role`` and the administration role; returns the latter's name."""
    from psycopg import sql
    from sqlalchemy import text

    from dispatch_console.kernel.changes import record

    require(actor, "db.admin")
    if not db.is_postgres:
        raise ValidationError(_("Database roles exist on PostgreSQL only; a SQLite file has none."))
    admin_role = admin_role or admin_role_name(role)
    _check_role_name(role)
    _check_role_name(admin_role)
    if admin_role == role:
        raise ValidationError(_("The administration role needs a name of its own."), "admin_role")
    for secret in (password, admin_password):
        if secret is not None and "\x00" in secret:
            raise ValidationError(_("A password may not contain the NUL character."), "password")
    with db.write() as s:
        if not _is_superuser(s):
            raise PermissionDenied(_("db grant needs a superuser connection (--db with a superuser)."))
        database = s.execute(text("SELECT current_database()")).scalar_one()
        _install_triggers(s)
        _login_role(s, role, password)
        _login_role(s, admin_role, admin_password)
        # a workstation must not hold the administration role (nor the other way round)
        for member, group in ((role, admin_role), (admin_role, role)):
            if s.execute(text("SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                              "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = :m AND g.rolname = :g"),
                         {"m": member, "g": group}).first():
                _execute(s, sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(group), sql.Identifier(member)))
        _grant_working_rights(s, role, database, accounts=False)
        _grant_working_rights(s, admin_role, database, accounts=True)
        record(s, actor, entity="user", entity_id=None, op="update", action="db.grant_role",
               after={"db_role": role, "admin_db_role": admin_role, "password_set": bool(password),
                      "admin_password_set": bool(admin_password), "database": database})
    return admin_role


def cmd_grant(ctx: CliContext) -> int:
    import sys

    actor = ctx.actor()
    require(actor, "db.admin")
    password = admin_password = None
    if ctx.args.password_stdin:
        lines = [line.rstrip("\r\n") for line in sys.stdin.readlines()[:2]]
        password = lines[0] if lines else None
        admin_password = lines[1] if len(lines) > 1 else None
    db = ctx.database()
    admin_role = grant_app_role(db, actor, ctx.args.role, password or None, admin_role=ctx.args.admin_role,
                                admin_password=admin_password or None)
    print(_("Role {role} on {url}: may read, add and update the working tables; may only append to "
            "audit_log, change_log, incident_event and audit_checkpoint; may not add accounts or change "
            "their roles or passwords.").format(role=ctx.args.role, url=db.display_url))
    print(_("Role {role}: the same, and account administration (users add, set-role, reset-password). "
            "Give it to administrators only, never to a workstation.").format(role=admin_role))
    return EXIT_OK
