"""``dispatch-console agent``: the timer engine with no window, until SIGINT or SIGTERM.

It fires deadlines and escalations and delivers the outbox, for a server that must keep them
while no console is open. Any number of agents and consoles may run: each timer fires once.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

from dispatch_console.cli import EXIT_OK, EXIT_USAGE, CliContext, Commands
from dispatch_console.kernel.i18n import _


def register(commands: Commands) -> None:
    p = commands.add("agent", cmd_agent,
                     _("run the timer engine without a window (deadlines, escalations, outbox) until stopped"))
    p.add_argument("--sweep", type=float, default=5.0, metavar="SECONDS",
                   help=_("safety sweep interval in seconds (default 5)"))


def cmd_agent(ctx: CliContext) -> int:
    from dispatch_console import escalation, notifications
    from dispatch_console.timers import TimerEngine

    if ctx.args.sweep <= 0:
        print(_("--sweep must be more than 0 seconds."))
        return EXIT_USAGE
    db = ctx.database()
    escalation.configure(ctx.resources)
    notifications.configure(ctx.resources)
    escalation.policy()  # a broken policy file stops the agent now, not at the first deadline
    senders = notifications.senders_from_settings()
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    engine = TimerEngine(db, ctx.station, sweep_interval=ctx.args.sweep, own_feed=True,
                         outbox_senders=senders).start()
    print(_("Timer agent {station} running on {url}; Ctrl+C stops it.").format(
        station=ctx.station, url=db.display_url), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        engine.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(_("Timer agent {station} stopped after firing {count} timers.").format(
        station=ctx.station, count=len(engine.fired)), flush=True)
    return EXIT_OK
