"""Accounts, roles, passwords and sign-in.

The room's public face: the views and the command line import from here. Behind it,
``accounts``.
"""

from dispatch_console.users.accounts import (
    MAX_DISPLAY_NAME,
    MAX_PASSWORD,
    MAX_USERNAME,
    add_user,
    authenticate,
    change_role,
    count_users,
    create_first_admin,
    disable_user,
    enable_user,
    issue_token,
    list_users,
    reset_password,
    verify_password,
)

__all__ = [
    "MAX_DISPLAY_NAME",
    "MAX_PASSWORD",
    "MAX_USERNAME",
    "add_user",
    "authenticate",
    "change_role",
    "count_users",
    "create_first_admin",
    "disable_user",
    "enable_user",
    "issue_token",
    "list_users",
    "reset_password",
    "verify_password",
]
