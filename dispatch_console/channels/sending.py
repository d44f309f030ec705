"""The outbox's side of a channel sender: rate slots, what is known at sending time, the books.

The outbox (``dispatch_console.notifications.outbox``) calls these in its own short
transactions, with the clock it was given: :meth:`reserve` in the claim, :meth:`context` just
before sending, :meth:`settle` with the answers. Robots and SMS senders inherit them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Incident, Notification
from dispatch_console.channels import state
from dispatch_console.channels.audience import on_duty
from dispatch_console.channels.base import Delivery, SendContext
from dispatch_console.kernel.timefmt import fmt_local
from dispatch_console.notifications.senders import OutgoingMessage


class OutboxHooks:
    kind = "channel"
    rate_per_minute: int | None = None
    down_after: int = 3

    def reserve(self, session: Session, channel: str, now: datetime) -> datetime | None:
        return state.reserve_slot(session, channel, self.rate_per_minute, now)

    def context(self, session: Session, message: OutgoingMessage, now: datetime) -> SendContext:
        """Who is on duty now (people on leave left out), the message's facts, who already has it."""
        level, number = "info", ""
        if message.notification_id is not None:
            found = session.execute(select(Notification.level, Incident.number)
                                    .outerjoin(Incident, Incident.id == Notification.incident_id)
                                    .where(Notification.id == message.notification_id)).first()
            if found is not None:
                level, number = found[0], found[1] or ""
        return SendContext(now=now, audience=on_duty(session, now), level=level, incident_number=number,
                           local_time=fmt_local(now, "%H:%M"), done=state.done_recipients(session, message.id))

    def failed(self, message: OutgoingMessage, error: Exception) -> Delivery:
        return Delivery(message.recipient[:200], "error", type(error).__name__, str(error)[:500])

    def settle(self, session: Session, message: OutgoingMessage, answers: Sequence[Delivery],
               now: datetime) -> tuple[bool, bool]:
        state.record_attempts(session, outbox_id=message.id, channel=message.channel, kind=self.kind,
                              attempt=message.attempt, now=now, deliveries=answers)
        errors = [d for d in answers if d.outcome == "error"]
        # nobody on duty to text is not the channel's fault: it does not count towards "down"
        faults = [d for d in errors if d.code != "no_recipients"]
        down = False
        if faults or any(d.outcome in ("sent", "unknown") for d in answers):
            failure = "; ".join(f"{d.recipient}: {d.code} {d.answer}"[:300] for d in faults) or None
            down = state.note_result(session, message.channel, now, ok=not faults, error=failure,
                                     down_after=self.down_after)
        session.flush()
        return down, state.any_unknown(session, message.id)
