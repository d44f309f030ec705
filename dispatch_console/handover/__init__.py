"""Shift handover: the draft, the signed record, its PDF content, reminders and the duty log."""
