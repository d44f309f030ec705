"""The command line: the scripting surface (JSON for machines, text for people).

Each command group lives in its own module under ``dispatch_console.cli`` with a
``register(commands: Commands)`` function; the composition root (``station/composition.py``, the
top layer) lists them, with the GUI commands (``run``, ``screenshot``, ``handover report``).

Global options work before or after the subcommand, and each has an environment variable of the
same name. Exit codes: 0 success, 1 some input rejected (and said why), 2 usage.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources, default_db_url, demo_db_url
from dispatch_console.kernel.errors import DispatchError, SchemaMismatch
from dispatch_console.kernel.i18n import _, set_language

if TYPE_CHECKING:  # SQLAlchemy and the database layer load when a command opens the database,
    # so that --help and the parser cost no more than argparse (bench/cli_start.py)
    from sqlalchemy.exc import DBAPIError, OperationalError

    from db.engine import Database

log = logging.getLogger(__name__)

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2

def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    d: Callable[[Any], Any] = (lambda _v: argparse.SUPPRESS) if suppress else (lambda v: v)
    g = parser.add_argument_group(_("global options"))
    g.add_argument("--db", metavar="URL", default=d(None),
                   help=_("database URL (env DISPATCH_DB_URL); default: a SQLite file in your data folder"))
    g.add_argument("--station", default=d(None), help=_("this workstation's name (env DISPATCH_STATION)"))
    g.add_argument("--config-dir", default=d(None),
                   help=_("folder whose files override resources/ (env DISPATCH_CONFIG_DIR)"))
    g.add_argument("--lang", choices=["zh_CN", "en"], default=d(None), help=_("language (env DISPATCH_LANG)"))
    g.add_argument("--user", default=d(None), help=_("sign in as this user (env DISPATCH_USER)"))
    g.add_argument("--password", default=d(None), help=_("password for --user (env DISPATCH_PASSWORD)"))
    g.add_argument("--demo", action="store_true", default=d(False),
                   help=_("use the demo database (seeded on first use)"))
    g.add_argument("-v", "--verbose", action="store_true", default=d(False), help=_("log more"))
    _version_option(g)


def _version_option(parser: Any) -> None:
    """``--version`` on every command and group (what IT asks first when something is wrong)."""
    from dispatch_console import __version__

    parser.add_argument("--version", action="version", version=f"dispatch-console {__version__}",
                        help=_("print the version and exit"))


Handler = Callable[["CliContext"], int]


@functools.cache
def _value_options() -> frozenset[str]:
    """The global options that take a value (the word after them is not the command), read from
    the options themselves so that a new one cannot be forgotten here."""
    probe = argparse.ArgumentParser(add_help=False)
    _global_options(probe, suppress=True)
    return frozenset(s for action in probe._actions if action.nargs != 0 for s in action.option_strings)


def command_word(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names (``intake`` in ``--db URL intake -``), or None before one."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in _value_options()
        else:
            return word
    return None


class _Unbuilt:
    """What a command that is not being run registers its options into: nothing.

    A call runs one command, so only that command's parser is built whole; the others keep their
    name and one-line help (the list a usage error shows). Their dozens of options each with a
    translated help text were a tenth of a one-line intake's start.
    """

    def __getattr__(self, _name: str) -> Callable[..., _Unbuilt]:
        return lambda *_args, **_kwargs: self


@dataclass
class Commands:
    """What command modules register into: subcommands that share the global options.

    With ``only`` set (the command word of this call), the other commands are registered by name
    and help alone, and what they add goes nowhere (:class:`_Unbuilt`).
    """

    parser: argparse.ArgumentParser
    subparsers: Any
    groups: dict[str, Any] = field(default_factory=dict)
    only: str | None = None
    registered: set[str] = field(default_factory=set)

    def _unbuilt(self, top: str) -> bool:
        return self.only is not None and top != self.only

    def add(self, name: str, handler: Handler, help: str, **kwargs: Any) -> argparse.ArgumentParser:
        self.registered.add(name)
        if self._unbuilt(name):
            self.subparsers.add_parser(name, help=help, **kwargs)
            return _Unbuilt()  # type: ignore[return-value]
        p = self.subparsers.add_parser(name, help=help, description=help, **kwargs)
        _global_options(p, suppress=True)
        p.set_defaults(handler=handler)
        return p

    def group(self, name: str, help: str, within: str | None = None) -> Any:
        """A command with sub-commands (``db upgrade``, ``grids list`` …); ``within`` nests it in
        another group (``cases campaign start``), registered under the name ``"<within> <name>"``."""
        key = f"{within} {name}" if within else name
        if key not in self.groups:
            top = key.split(" ", 1)[0]
            self.registered.add(top)
            if self._unbuilt(top):
                if within is None:
                    self.subparsers.add_parser(name, help=help)
                self.groups[key] = _Unbuilt()
                return self.groups[key]
            parent = self.groups[within] if within else self.subparsers
            p = parent.add_parser(name, help=help, description=help)
            _version_option(p)
            p.set_defaults(handler=lambda _ctx, p=p: (p.print_help(), EXIT_USAGE)[1])
            self.groups[key] = p.add_subparsers(dest=f"{key.replace(' ', '_')}_command", metavar="COMMAND")
        return self.groups[key]

    def add_sub(self, group: str, name: str, handler: Handler, help: str) -> argparse.ArgumentParser:
        sub = self.groups[group]
        if isinstance(sub, _Unbuilt):
            return sub  # type: ignore[return-value]
        p = sub.add_parser(name, help=help, description=help)
        _global_options(p, suppress=True)
        p.set_defaults(handler=handler)
        return p


class CliContext:
    """Everything a command handler needs, opened lazily."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        if args.config_dir:
            # One source of truth for the whole process (and the workers it starts): every
            # Resources.from_env() — categories, checklists, policies — sees the site's folder.
            os.environ["DISPATCH_CONFIG_DIR"] = str(args.config_dir)
        self.resources = Resources.from_env(args.config_dir)
        self._db: Database | None = None
        self._schema_ok = False  # checked once per call: signing in and the command share the database
        self._actor: Actor | None = None

    @property
    def db_url(self) -> str:
        """The URL given (a libpq multi-host URI becomes SQLAlchemy's form of the same)."""
        from db.engine import normalise_url

        if self.args.db:
            return str(normalise_url(str(self.args.db)))
        if os.environ.get("DISPATCH_DB_URL"):
            return str(normalise_url(os.environ["DISPATCH_DB_URL"]))
        return demo_db_url() if self.args.demo else default_db_url()

    @property
    def station(self) -> str:
        return self.args.station or os.environ.get("DISPATCH_STATION") or socket.gethostname()

    def database(self, *, check_schema: bool = True) -> Database:
        """Open the database; a server that wants a password not in the URL gets asked once.

        The password comes from the system keyring when it has one; otherwise ``ask_password``
        (a terminal prompt here, a dialog in the console) asks, and nothing stores it in plain text.
        """
        from sqlalchemy.exc import OperationalError

        from db.engine import Database
        from db.migrate import schema_status
        from dispatch_console.kernel import secrets, transient

        if self._db is None:
            self._db = Database(secrets.resolve_db_url(self.db_url))
            try:
                self._db.probe()
            except OperationalError as exc:
                if not password_refused(exc) or not secrets.needs_password(self.db_url):
                    raise DatabaseUnavailable(transient.describe(exc, self._db.url)) from exc
                password = self.ask_password(self._db.display_url)
                if not password:
                    raise DatabaseUnavailable(_("The database needs a password.")) from None
                self._db.dispose()
                self._db = Database(secrets.with_password(self.db_url, password))
                try:
                    self._db.probe()
                except OperationalError as again:
                    raise DatabaseUnavailable(transient.describe(again, self._db.url)) from again
        if check_schema and not self._schema_ok:
            try:
                ensure_schema(self._db)
            except SchemaMismatch as exc:
                if self.uses_demo():
                    # --demo says "created and seeded on first use" for every command, not only `run`
                    from dispatch_console.demo.database import prepare_demo_database

                    prepare_demo_database(self.db_url, self.system_actor())
                    ensure_schema(self._db)
                    self._schema_ok = True
                    return self._db
                if not self.implicit_default() or schema_status(self._db).state != "empty":
                    raise
                # the first thing a new user tries after `make run`: the console opened the demo
                # database, this command the (still empty) default one — say which, and the way there
                raise SchemaMismatch(_(
                    "{url} is the command line's default database and has no schema yet. The console "
                    "started by `make run` uses the demo database {demo}: add --demo "
                    "(dispatch-console --demo incidents list), or give --db URL; to set this one up "
                    "run dispatch-console db upgrade.").format(
                        url=self._db.display_url, demo=demo_db_url().removeprefix("sqlite:///"))) from exc
            self._schema_ok = True
        return self._db

    def uses_demo(self) -> bool:
        """--demo, with no --db or DISPATCH_DB_URL naming another database."""
        return bool(self.args.demo) and not self.args.db and not os.environ.get("DISPATCH_DB_URL")

    def implicit_default(self) -> bool:
        """No --db, no DISPATCH_DB_URL and no --demo: the default database file was opened."""
        return not self.args.db and not os.environ.get("DISPATCH_DB_URL") and not self.args.demo

    def ask_password(self, display_url: str) -> str | None:
        if not sys.stdin or not sys.stdin.isatty():
            return None
        import getpass

        return getpass.getpass(_("Password for {url}: ").format(url=display_url))

    def actor(self) -> Actor:
        """The signed-in identity of this call (``--user``/``--password`` or the environment)."""
        if self._actor is None:
            from dispatch_console import users

            username = self.args.user or os.environ.get("DISPATCH_USER")
            password = self.args.password or os.environ.get("DISPATCH_PASSWORD")
            if not username or password is None:
                raise UsageError(
                    _("This command writes to the database: give --user and --password "
                      "(or DISPATCH_USER and DISPATCH_PASSWORD).")
                )
            self._actor = users.authenticate(self.database(), username, password, self.station)
        return self._actor

    def system_actor(self) -> Actor:
        """The system itself (the timer engine and agent): never for a caller who has not signed in."""
        return Actor.system(self.station)

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()


class UsageError(DispatchError):
    pass


class DatabaseUnavailable(DispatchError):
    pass


def database_error_line(exc: BaseException, ctx: CliContext) -> str:
    """The one line a database error becomes: whether it is weather, and what the database said."""
    from dispatch_console.kernel import secrets, transient

    try:
        url: Any = secrets.resolve_db_url(ctx.db_url)
    except Exception:  # the URL itself is what is wrong
        url = None
    reason = transient.describe(exc, url)
    if transient.is_transient(exc):
        return "dispatch-console: " + _("the database is unreachable or busy (try again): {reason}").format(
            reason=reason)
    return "dispatch-console: " + _("database error: {reason}").format(reason=reason)


def privilege_refusal(exc: DBAPIError) -> str | None:
    """One line for a statement PostgreSQL refused to this connection's role (``db grant``), else None."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate != "42501":  # insufficient_privilege
        return None
    detail = str(getattr(getattr(exc.orig, "diag", None), "message_primary", None) or "").strip()
    return _("The database refused this to the role this connection uses ({detail}). Account "
             "administration and maintenance need the administration role (see db grant).").format(
                 detail=detail or "permission denied")


def password_refused(exc: OperationalError) -> bool:
    text = str(exc.orig or exc).lower()
    return "password" in text and ("authentication failed" in text or "no password supplied" in text)


def ensure_schema(db: Database) -> None:
    from db.migrate import schema_status

    status = schema_status(db)
    if status.ok:
        return
    where = db.display_url
    if status.state == "empty":
        raise SchemaMismatch(
            _("The database {url} has no schema yet. Run: dispatch-console --db URL db upgrade").format(url=where)
        )
    if status.state == "behind":
        raise SchemaMismatch(
            _("The database {url} is at schema {current}; this version needs {head}. "
              "Run: dispatch-console --db URL db upgrade").format(
                url=where, current=status.current, head=status.head)
        )
    raise SchemaMismatch(
        _("The database {url} has schema {current}, which this version does not know "
          "(it was written by a newer dispatch-console). Upgrade the application.").format(
            url=where, current=status.current)
    )


Register = Callable[["Commands"], None]


def build_parser(groups: Sequence[Register], only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command group of ``groups`` (each a room's ``register``), in order.

    ``only``: the command this call runs; the others are built by name only (see :class:`Commands`).
    A word that names no command gets the whole parser, whose error lists them all.
    """
    if only is not None:
        parser, registered = _parser(groups, only)
        if only in registered:
            return parser
    return _parser(groups, None)[0]


def _parser(groups: Sequence[Register], only: str | None) -> tuple[argparse.ArgumentParser, set[str]]:
    parser = argparse.ArgumentParser(
        prog="dispatch-console",
        description=_("Duty-room dispatch console: incident queue, grid map, checklists, "
                      "timers and shift handover on a shared database."),
    )
    _global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands = Commands(parser, sub, only=only)
    for register in groups:
        register(commands)
    return parser, commands.registered


def _pre_language(argv: Sequence[str]) -> None:
    """Pick the language before building --help texts."""
    lang = None
    for i, a in enumerate(argv):
        if a == "--lang" and i + 1 < len(argv):
            lang = argv[i + 1]
        elif a.startswith("--lang="):
            lang = a.split("=", 1)[1]
    try:
        set_language(lang)
    except ValueError:
        set_language("en")


def prepare_output(*, json_output: bool) -> None:
    """Output a console code page cannot break: ``--json`` is always UTF-8 (a script reads bytes,
    whatever the console's code page, e.g. GBK on Chinese Windows); text for people stays in the
    console's encoding, and a character it lacks becomes ``?`` instead of a traceback."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None:
            continue
        try:
            if json_output and stream is sys.stdout:
                reconfigure(encoding="utf-8", errors="strict")
            else:
                reconfigure(errors="replace")
        except (ValueError, OSError):  # a stream already written in another encoding, or closed
            log.debug("could not reconfigure %r", stream, exc_info=True)


def _log_to_file(*, verbose: bool, command: str) -> None:
    """The console shows warnings (everything with -v); the rotating log file keeps INFO and up."""
    from dispatch_console import __version__
    from dispatch_console.kernel import logfile

    root = logging.getLogger()
    for handler in root.handlers:
        if type(handler) is logging.StreamHandler and handler.level == logging.NOTSET:
            handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    if logfile.install(logging.DEBUG if verbose else logging.INFO) is not None:
        logging.getLogger("apscheduler").setLevel(logging.DEBUG if verbose else logging.WARNING)  # every sweep
        log.info("dispatch-console %s: %s (pid %d)", __version__, command, os.getpid())


def main(argv: Sequence[str] | None, groups: Sequence[Register], default_command: str | None = None,
         prepare: Callable[[], None] | None = None) -> int:
    """Run one command. The command groups come from the composition root (station/composition.py),
    and so does ``prepare``, which wires the rooms together once a command is about to run."""
    argv = list(sys.argv[1:] if argv is None else argv)
    prepare_output(json_output="--json" in argv)
    _pre_language(argv)
    word = command_word(argv)
    parser = build_parser(groups, only=word)
    if word is None and default_command and not {"-h", "--help", "--version"} & set(argv):
        parser = build_parser(groups, only=default_command)
        args = parser.parse_args([default_command, *argv])
    else:
        args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    _log_to_file(verbose=bool(args.verbose), command=str(args.command))
    # -v shows the statements, never the rows they return (password hashes, phones, ID numbers)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO if args.verbose else logging.WARNING)
    if args.lang:
        set_language(args.lang)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    if prepare is not None:
        prepare()
    saved_config_dir = os.environ.get("DISPATCH_CONFIG_DIR")
    ctx = CliContext(args)
    try:
        return int(handler(ctx))
    except UsageError as exc:
        print(f"dispatch-console: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DispatchError as exc:
        print(f"dispatch-console: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    except Exception as exc:
        from sqlalchemy.exc import DBAPIError

        from dispatch_console.kernel import transient

        refusal = privilege_refusal(exc) if isinstance(exc, DBAPIError) else None
        if refusal is not None:  # PostgreSQL refused it to this connection's role (db grant)
            print(f"dispatch-console: {refusal}", file=sys.stderr)
            return EXIT_REJECTED
        if not transient.is_database_error(exc):
            raise
        # a database error no command turned into a DispatchError: one line, never a traceback
        log.debug("database error in %s", args.command, exc_info=True)
        print(database_error_line(exc, ctx), file=sys.stderr)
        return EXIT_REJECTED
    finally:
        ctx.close()
        # in-process callers (tests, scripts) must not inherit this call's --config-dir
        if saved_config_dir is None:
            os.environ.pop("DISPATCH_CONFIG_DIR", None)
        else:
            os.environ["DISPATCH_CONFIG_DIR"] = saved_config_dir
