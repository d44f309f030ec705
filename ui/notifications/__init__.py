"""The notification centre and the escalation banner."""
