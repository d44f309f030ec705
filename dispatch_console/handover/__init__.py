"""Shift handover: the draft, the signed record, its PDF content, reminders and the duty log.

The room's public face: the views and the command line import from here. Behind it,
``content`` (what a record holds), ``service`` (draft → signed → accepted),
``report`` (the PDF's HTML), ``schedule`` (the reminders) and ``duty_log``.
"""

from dispatch_console.handover.duty_log import duty_log
from dispatch_console.handover.report import duty_log_html, handover_html
from dispatch_console.handover.service import (
    HandoverOverview,
    HandoverRecord,
    StaffAccount,
    accept,
    add_addendum,
    draft,
    get,
    incoming_staff,
    overview,
    preview,
    reacknowledge,
    save,
    sign,
    status_label,
)

__all__ = [
    "HandoverOverview",
    "HandoverRecord",
    "StaffAccount",
    "accept",
    "add_addendum",
    "draft",
    "duty_log",
    "duty_log_html",
    "get",
    "handover_html",
    "incoming_staff",
    "overview",
    "preview",
    "reacknowledge",
    "save",
    "sign",
    "status_label",
]
