"""Users and sign-in: argon2 password hashes, lock-out after failed attempts.

Five failed attempts lock an account for five minutes (database clock). A disabled account
cannot sign in. Passwords, tokens and their hashes are never logged and never written to the
audit log. Administrators manage accounts (``users.manage``); on a database with no users at all
the first administrator is created without sign-in (the first start).

An integration account (a hotline or 110 system calling ``dispatch-console intake`` once per
report) may sign in with an issued token instead of a password (:func:`issue_token`): 256 random
bits, so its stored hash is a SHA-256 digest, checked in microseconds. argon2 is deliberately
slow (~0.1–0.2 s a check, 64 MiB) because people choose guessable passwords; that cost buys
nothing against a random token and was the largest single part of a one-line intake's start. A
token signs in only an integration account: an account moved to another role needs a password.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import User
from dispatch_console.kernel.actor import SYSTEM_ROLE, Actor
from dispatch_console.kernel.changes import record, row_dict, serialise_writers
from dispatch_console.kernel.errors import AuthenticationFailed, NotFound, ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import ROLES, require
from dispatch_console.kernel.timefmt import fmt_local

if TYPE_CHECKING:
    from argon2 import PasswordHasher

log = logging.getLogger(__name__)

MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=5)
MAX_USERNAME = 64
MAX_DISPLAY_NAME = 100
MIN_PASSWORD = 4
MAX_PASSWORD = 1024  # argon2 copes with more; a cap keeps a pasted novel from costing seconds
_SECRET_COLUMNS = ("password_hash",)
TOKEN_PREFIX = "dct_"  # dispatch-console token: recognisable in a leaked config or a log
TOKEN_SCHEME = "$sha256$"  # a stored token digest; argon2's hashes begin "$argon2"


@functools.cache
def _argon2() -> PasswordHasher:
    """argon2 loads when a password is checked or set, not for a token's sign-in."""
    from argon2 import PasswordHasher

    return PasswordHasher()


def _password_matches(stored: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return bool(_argon2().verify(stored, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _token_digest(token: str) -> str:
    return TOKEN_SCHEME + hashlib.sha256(token.encode("utf-8")).hexdigest()


def is_token_account(stored: str | None) -> bool:
    return bool(stored) and str(stored).startswith(TOKEN_SCHEME)


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    display_name: str
    role: str
    is_demo: bool
    disabled: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    signs_in_with_token: bool = False


def hash_password(password: str) -> str:
    return _argon2().hash(password)


def _row(u: User) -> UserRow:
    return UserRow(u.id, u.username, u.display_name, u.role, u.is_demo, u.disabled, u.locked_until,
                   u.last_login_at, is_token_account(u.password_hash))


def _audit_view(u: User) -> dict[str, Any]:
    """The account as the audit log may show it: every column but the password hash."""
    return row_dict(u, exclude=_SECRET_COLUMNS)


def actor_for(user: User, station: str) -> Actor:
    return Actor(user_id=user.id, username=user.username, role=user.role, station=station,
                 display_name=user.display_name)


def _plausible_username(username: str) -> bool:
    return bool(username) and len(username) <= MAX_USERNAME and username.isprintable() and " " not in username


def validate_display_name(name: str) -> None:
    if len(name) > MAX_DISPLAY_NAME:
        raise ValidationError(
            _("A name has at most {n} characters.").format(n=MAX_DISPLAY_NAME), "display_name")
    if "\x00" in name or any(ch in name for ch in "\r\n\t"):
        raise ValidationError(_("A name may not contain NUL, tab or line-break characters."), "display_name")


def validate_password(password: str, *, minimum: int = MIN_PASSWORD) -> None:
    if not password or len(password) < minimum:
        raise ValidationError(_("A password needs at least 4 characters."), "password")
    if len(password) > MAX_PASSWORD:
        raise ValidationError(_("A password has at most {n} characters.").format(n=MAX_PASSWORD), "password")
    if "\x00" in password:
        raise ValidationError(_("A password may not contain the NUL character."), "password")


def validate_new_user(username: str, password: str, role: str, display_name: str | None = None,
                      *, min_password: int = MIN_PASSWORD) -> None:
    if not _plausible_username(username):
        raise ValidationError(_("A user name is 1–64 printable characters without spaces."), "username")
    if role not in ROLES:
        raise ValidationError(_("Unknown role {role}.").format(role=role), "role")
    validate_password(password, minimum=min_password)
    if display_name is not None:
        validate_display_name(display_name)


def create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    person_id: int | None = None,
    is_demo: bool = False,
) -> User:
    """Add a user inside the caller's write transaction (administrators, or the system)."""
    require(actor, "users.manage")
    # The system (demo seed, test fixtures) may set short throw-away passwords; people may not.
    validate_new_user(username, password, role, display_name,
                      min_password=1 if actor.role == SYSTEM_ROLE else MIN_PASSWORD)
    if session.execute(select(User.id).where(User.username == username)).first():
        raise ValidationError(_("The user {name} already exists.").format(name=username), "username")
    now = db_now(session)
    user = User(username=username, display_name=display_name or username, role=role, person_id=person_id,
                password_hash=hash_password(password), is_demo=is_demo, created_at=now)
    session.add(user)
    session.flush()
    record(session, actor, entity="user", entity_id=user.id, op="create", action="user.create",
           after={"username": username, "role": role, "display_name": user.display_name,
                  "is_demo": is_demo}, at=now)
    return user


def add_user(db: Database, actor: Actor, *, username: str, password: str, role: str,
             display_name: str | None = None) -> UserRow:
    """Create an account (administrators)."""
    with db.write() as s:
        return _row(create_user(s, actor, username=username, password=password, role=role,
                                display_name=display_name))


def create_first_admin(db: Database, station: str, *, username: str, password: str,
                       display_name: str | None = None) -> Actor:
    """The first start: on a database without any user, create the administrator and sign in.

    Refused as soon as any account exists, so it cannot be used to bypass sign-in later.
    """
    with db.write() as s:
        serialise_writers(s)  # two workstations starting at once: only one creates the first admin
        if s.execute(select(func.count(User.id))).scalar_one() > 0:
            raise ValidationError(
                _("Accounts already exist: an administrator must sign in to add users."), "username")
        user = create_user(s, Actor.system(station), username=username, password=password, role="admin",
                           display_name=display_name)
        user.last_login_at = db_now(s)
        return actor_for(user, station)


def _get_for_update(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(_("There is no user {name}.").format(name=username))
    return user


def _other_active_admins(session: Session, user: User) -> int:
    return int(session.execute(
        select(func.count(User.id)).where(User.role == "admin", User.disabled.is_(False), User.id != user.id)
    ).scalar_one())


def _change(db: Database, actor: Actor, username: str, action: str, apply: Any) -> UserRow:
    """Load, change with ``apply(session, user)``, bump the version and audit before/after."""
    require(actor, "users.manage")
    with db.write() as s:
        user = _get_for_update(s, username)
        before = _audit_view(user)
        apply(s, user)
        user.version = (user.version or 1) + 1
        s.flush()
        record(s, actor, entity="user", entity_id=user.id, op="update", action=action,
               before=before, after=_audit_view(user))
        return _row(user)


def _keep_an_admin(session: Session, user: User) -> None:
    if user.role == "admin" and not user.disabled and _other_active_admins(session, user) == 0:
        raise ValidationError(
            _("{name} is the last active administrator; add another administrator first.").format(
                name=user.username), "username")


def disable_user(db: Database, actor: Actor, username: str) -> UserRow:
    """Disable an account: it can no longer sign in (nothing it did is removed)."""
    def apply(s: Session, user: User) -> None:
        _keep_an_admin(s, user)
        user.disabled = True
    return _change(db, actor, username, "user.disable", apply)


def enable_user(db: Database, actor: Actor, username: str) -> UserRow:
    """Enable a disabled account and lift any lock-out."""
    def apply(_s: Session, user: User) -> None:
        user.disabled = False
        user.failed_attempts = 0
        user.locked_until = None
    return _change(db, actor, username, "user.enable", apply)


def reset_password(db: Database, actor: Actor, username: str, new_password: str) -> UserRow:
    """Set a new password (the officer forgot it) and lift any lock-out."""
    validate_password(new_password)

    def apply(_s: Session, user: User) -> None:
        user.password_hash = hash_password(new_password)
        user.failed_attempts = 0
        user.locked_until = None
    return _change(db, actor, username, "user.reset_password", apply)


def issue_token(db: Database, actor: Actor, username: str) -> tuple[UserRow, str]:
    """A new token for an integration account, in place of its password or earlier token.

    The token is returned once and only its digest is stored: whoever loses it gets a new one,
    and the old one stops working at once. Lifts any lock-out, like a password reset.
    """
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)

    def apply(_s: Session, user: User) -> None:
        if user.role != "integration":
            raise ValidationError(_("Only an integration account signs in with a token; {name} is {role}.")
                                  .format(name=user.username, role=_(ROLES.get(user.role, user.role))), "role")
        user.password_hash = _token_digest(token)
        user.failed_attempts = 0
        user.locked_until = None
    return _change(db, actor, username, "user.issue_token", apply), token


def change_role(db: Database, actor: Actor, username: str, role: str) -> UserRow:
    if role not in ROLES:
        raise ValidationError(_("Unknown role {role}.").format(role=role), "role")

    def apply(s: Session, user: User) -> None:
        if role != "admin":
            _keep_an_admin(s, user)
        user.role = role
    return _change(db, actor, username, "user.change_role", apply)


def _store_own_hash(session: Session, user: User, new_hash: str) -> None:
    """Replace the account's own password hash (the officer's new password, a rehash at sign-in).

    On PostgreSQL through ``dispatch_set_own_password`` (migration 0006): the restricted
    workstation role may not update ``password_hash``; the function swaps it only for the hash
    the caller read, so it cannot be used to set a password that was changed meanwhile.
    """
    if session.get_bind().dialect.name != "postgresql":
        user.password_hash = new_hash
        user.version = (user.version or 1) + 1
        return
    session.flush()
    swapped = session.execute(text("SELECT dispatch_set_own_password(:id, :current, :new)"),
                              {"id": user.id, "current": user.password_hash, "new": new_hash}).scalar_one()
    session.expire(user, ["password_hash", "version"])
    if not swapped:
        raise AuthenticationFailed(_("The current password is wrong."))


def change_own_password(db: Database, actor: Actor, old_password: str, new_password: str) -> None:
    """Any signed-in officer may change their own password, knowing the current one."""
    validate_password(new_password)
    with db.write() as s:
        user = s.get(User, actor.user_id) if actor.user_id is not None else None
        if user is None:
            raise NotFound(_("There is no user {name}.").format(name=actor.username))
        if not _password_matches(user.password_hash, old_password):
            raise AuthenticationFailed(_("The current password is wrong."))
        _store_own_hash(s, user, hash_password(new_password))
        record(s, actor, entity="user", entity_id=user.id, op="update", action="user.change_password")


def authenticate(db: Database, username: str, password: str, station: str) -> Actor:
    """Check the password; count failures and lock the account after five of them."""
    if not _plausible_username(username) or "\x00" in password or len(password) > MAX_PASSWORD:
        _argon2().hash("x")  # same cost as a real check: do not reveal which names exist
        raise AuthenticationFailed(_("Wrong user name or password."))
    with db.write() as s:
        user = s.execute(select(User).where(User.username == username)).scalar_one_or_none()
        now = db_now(s)
        if user is None:
            _argon2().hash(password)  # same cost as a real check: do not reveal which names exist
            raise AuthenticationFailed(_("Wrong user name or password."))
        if user.disabled:
            raise AuthenticationFailed(_("The account {name} is disabled.").format(name=username))
        if user.locked_until is not None and user.locked_until > now:
            raise AuthenticationFailed(
                _("The account {name} is locked after too many failed attempts until {until}.").format(
                    name=username, until=fmt_local(user.locked_until, "%H:%M:%S"))
            )
        if is_token_account(user.password_hash):  # only an integration account's token verifies
            verified = user.role == "integration" and hmac.compare_digest(
                user.password_hash, _token_digest(password))
        else:
            verified = _password_matches(user.password_hash, password)
        if not verified:
            user.failed_attempts = (user.failed_attempts or 0) + 1
            locked = user.failed_attempts >= MAX_FAILED_ATTEMPTS
            if locked:
                user.locked_until = now + LOCKOUT
                user.failed_attempts = 0
            record(s, actor_for(user, station), entity="user", entity_id=user.id, op="update",
                   action="user.lockout" if locked else "user.login_failed", at=now)
            s.commit()
            if locked:
                raise AuthenticationFailed(
                    _("Too many failed attempts: the account {name} is locked for 5 minutes.").format(
                        name=username)
                )
            raise AuthenticationFailed(_("Wrong user name or password."))
        if not is_token_account(user.password_hash) and _argon2().check_needs_rehash(user.password_hash):
            _store_own_hash(s, user, hash_password(password))
        user.failed_attempts = 0
        user.locked_until = None
        user.last_login_at = now
        actor = actor_for(user, station)
        record(s, actor, entity="user", entity_id=user.id, op="update", action="user.login", at=now)
        return actor


def verify_password(db: Database, actor: Actor, password: str) -> Actor:
    """Unlock a locked workstation: the same officer signs in again (counts like a sign-in)."""
    return authenticate(db, actor.username, password, actor.station)


def list_users(db: Database) -> list[UserRow]:
    with db.read() as s:
        return [_row(u) for u in s.execute(select(User).order_by(User.username)).scalars()]


def count_users(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count(User.id))).scalar_one())
