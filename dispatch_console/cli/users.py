"""``dispatch-console users add | list | disable | enable | reset-password | issue-token | set-role``.

Every command needs an administrator (``--user``/``--password``), except ``users add`` on a
database without any user: that creates the first administrator (the first start).
"""

from __future__ import annotations

import getpass
import json
import sys
from argparse import Namespace

from dispatch_console.cli import EXIT_OK, CliContext, Commands, UsageError
from dispatch_console.kernel.errors import ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import ROLES, require
from dispatch_console.kernel.timefmt import fmt_local


def register(commands: Commands) -> None:
    commands.group("users", _("user accounts (administrators)"))
    p = commands.add_sub("users", "add", cmd_add, _("create an account (the first one needs no sign-in)"))
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--role", required=True, choices=sorted(ROLES), help=_("the account's role"))
    p.add_argument("--name", help=_("the name shown in the console (default: the user name)"))
    _password_stdin(p)
    p = commands.add_sub("users", "list", cmd_list, _("list the accounts"))
    p.add_argument("--json", action="store_true", help=_("JSON for scripts"))
    for name, handler, text in (
        ("disable", cmd_disable, _("disable an account (it can no longer sign in)")),
        ("enable", cmd_enable, _("enable an account again and lift a lock-out")),
        ("reset-password", cmd_reset_password, _("set a new password for an account")),
    ):
        p = commands.add_sub("users", name, handler, text)
        p.add_argument("username", metavar="USERNAME")
        if name == "reset-password":
            _password_stdin(p)
    p = commands.add_sub("users", "issue-token", cmd_issue_token,
                         _("issue a new sign-in token for an integration account (replaces its password)"))
    p.add_argument("username", metavar="USERNAME")
    p = commands.add_sub("users", "set-role", cmd_set_role, _("change an account's role"))
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("role", metavar="ROLE", choices=sorted(ROLES))


def _password_stdin(p: object) -> None:
    p.add_argument("--password-stdin", action="store_true",  # type: ignore[attr-defined]
                   help=_("read the new password from the first line of standard input"))


def read_new_password(args: Namespace, subject: str) -> str:
    """The new password: one line of stdin with --password-stdin, else asked twice (getpass)."""
    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    if not sys.stdin.isatty():
        raise UsageError(_("No terminal to ask for the password: use --password-stdin."))
    first = getpass.getpass(_("New password for {who}: ").format(who=subject))
    second = getpass.getpass(_("Repeat the password: "))
    if first != second:
        raise ValidationError(_("The two passwords differ."), "password")
    return first


def cmd_add(ctx: CliContext) -> int:
    from dispatch_console import users

    args = ctx.args
    db = ctx.database()
    if users.count_users(db) == 0:
        if args.role != "admin":
            raise ValidationError(_("The database has no accounts yet: the first one must be an "
                                    "administrator (--role admin)."), "role")
        password = read_new_password(args, args.username)
        users.create_first_admin(db, ctx.station, username=args.username, password=password,
                                 display_name=args.name)
        print(_("Created the first administrator {name}.").format(name=args.username))
        return EXIT_OK
    actor = ctx.actor()
    require(actor, "users.manage")
    password = read_new_password(args, args.username)
    row = users.add_user(db, actor, username=args.username, password=password, role=args.role,
                         display_name=args.name)
    print(_("Created {name} ({role}).").format(name=row.username, role=_(ROLES[row.role])))
    return EXIT_OK


def cmd_list(ctx: CliContext) -> int:
    from dispatch_console import users

    actor = ctx.actor()
    require(actor, "users.manage")
    rows = users.list_users(ctx.database())
    if ctx.args.json:
        print(json.dumps([{
            "username": r.username, "display_name": r.display_name, "role": r.role, "is_demo": r.is_demo,
            "disabled": r.disabled, "locked_until": r.locked_until.isoformat() if r.locked_until else None,
            "last_login_at": r.last_login_at.isoformat() if r.last_login_at else None,
            "signs_in_with": "token" if r.signs_in_with_token else "password",
        } for r in rows], ensure_ascii=False, indent=2))
        return EXIT_OK
    for r in rows:
        flags = [_("disabled")] if r.disabled else []
        if r.is_demo:
            flags.append(_("demo account"))
        if r.signs_in_with_token:
            flags.append(_("signs in with a token"))
        print("\t".join([r.username, r.display_name, _(ROLES.get(r.role, r.role)),
                         fmt_local(r.last_login_at, "%Y-%m-%d %H:%M") or "-", " ".join(flags)]))
    return EXIT_OK


def cmd_disable(ctx: CliContext) -> int:
    from dispatch_console import users

    row = users.disable_user(ctx.database(), ctx.actor(), ctx.args.username)
    print(_("{name} is disabled.").format(name=row.username))
    return EXIT_OK


def cmd_enable(ctx: CliContext) -> int:
    from dispatch_console import users

    row = users.enable_user(ctx.database(), ctx.actor(), ctx.args.username)
    print(_("{name} is enabled.").format(name=row.username))
    return EXIT_OK


def cmd_reset_password(ctx: CliContext) -> int:
    from dispatch_console import users

    actor = ctx.actor()
    require(actor, "users.manage")
    password = read_new_password(ctx.args, ctx.args.username)
    row = users.reset_password(ctx.database(), actor, ctx.args.username, password)
    print(_("New password set for {name}.").format(name=row.username))
    return EXIT_OK


def cmd_issue_token(ctx: CliContext) -> int:
    """The token goes to stdout alone (a script captures it); what to do with it, to stderr."""
    from dispatch_console import users

    actor = ctx.actor()
    require(actor, "users.manage")
    row, token = users.issue_token(ctx.database(), actor, ctx.args.username)
    print(token)
    print(_("New token for {name}: it is shown only now. The integration signs in with it as its "
            "password (DISPATCH_PASSWORD); the previous password or token no longer works.").format(
                name=row.username), file=sys.stderr)
    return EXIT_OK


def cmd_set_role(ctx: CliContext) -> int:
    from dispatch_console import users

    row = users.change_role(ctx.database(), ctx.actor(), ctx.args.username, ctx.args.role)
    print(_("{name} is now {role}.").format(name=row.username, role=_(ROLES[row.role])))
    return EXIT_OK
