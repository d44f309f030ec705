"""Users and sign-in: argon2 password hashes, lock-out after failed attempts.

Five failed attempts lock an account for five minutes (database clock). A disabled account
cannot sign in. Passwords are never logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import User
from dispatch_console.actor import Actor
from dispatch_console.changes import record
from dispatch_console.errors import AuthenticationFailed, ValidationError
from dispatch_console.i18n import _
from dispatch_console.permissions import ROLES, require
from dispatch_console.timefmt import fmt_local

log = logging.getLogger(__name__)

MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=5)
_hasher = PasswordHasher()


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


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _row(u: User) -> UserRow:
    return UserRow(u.id, u.username, u.display_name, u.role, u.is_demo, u.disabled, u.locked_until,
                   u.last_login_at)


def actor_for(user: User, station: str) -> Actor:
    return Actor(user_id=user.id, username=user.username, role=user.role, station=station,
                 display_name=user.display_name)


def validate_new_user(username: str, password: str, role: str) -> None:
    if not username or len(username) > 64 or not username.isprintable() or " " in username:
        raise ValidationError(_("A user name is 1–64 printable characters without spaces."), "username")
    if role not in ROLES:
        raise ValidationError(_("Unknown role {role}.").format(role=role), "role")
    if len(password) < 4:
        raise ValidationError(_("A password needs at least 4 characters."), "password")


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
    validate_new_user(username, password, role)
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


def authenticate(db: Database, username: str, password: str, station: str) -> Actor:
    """Check the password; count failures and lock the account after five of them."""
    with db.write() as s:
        user = s.execute(select(User).where(User.username == username)).scalar_one_or_none()
        now = db_now(s)
        if user is None:
            _hasher.hash(password)  # same cost as a real check: do not reveal which names exist
            raise AuthenticationFailed(_("Wrong user name or password."))
        if user.disabled:
            raise AuthenticationFailed(_("The account {name} is disabled.").format(name=username))
        if user.locked_until is not None and user.locked_until > now:
            raise AuthenticationFailed(
                _("The account {name} is locked after too many failed attempts until {until}.").format(
                    name=username, until=fmt_local(user.locked_until, "%H:%M:%S"))
            )
        try:
            _hasher.verify(user.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
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
                ) from None
            raise AuthenticationFailed(_("Wrong user name or password.")) from None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.failed_attempts = 0
        user.locked_until = None
        user.last_login_at = now
        actor = actor_for(user, station)
        record(s, actor, entity="user", entity_id=user.id, op="update", action="user.login", at=now)
        return actor


def list_users(db: Database) -> list[UserRow]:
    with db.read() as s:
        return [_row(u) for u in s.execute(select(User).order_by(User.username)).scalars()]


def count_users(db: Database) -> int:
    with db.read() as s:
        return len(s.execute(select(User.id)).all())
