"""Telling people: notifications, the outbox that never loses one, and the senders."""
