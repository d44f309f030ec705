"""``dispatch-console intake [FILE|-] [--ack] [--json]``: JSON Lines in, per-line answers out.

Good lines are kept, bad ones told with their line number. A lost database connection is waited
out (up to ``--wait`` seconds per line) and intake carries on where it was. With ``--ack`` (and
always with ``--json``) standard output gets one JSON object per input line, flushed as that line
commits — ``{"line": N, "status": "stored"|"duplicate"|"rejected", "number": …, "reason": …}`` —
so the sender knows exactly what is stored (blank lines are no input and get none); the summary
then goes to standard error, or with ``--json`` to a last ``{"summary": …}`` object. SIGTERM (or
Ctrl+C) finishes the line in flight, reads no more and prints the summary.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from dispatch_console.cli import EXIT_OK, EXIT_REJECTED, CliContext, Commands, UsageError
from dispatch_console.kernel import bounded_input
from dispatch_console.kernel.i18n import _

if TYPE_CHECKING:
    from dispatch_console.incidents import LineOutcome

log = logging.getLogger("dispatch_console.intake")


def register(commands: Commands) -> None:
    p = commands.add("intake", cmd_intake,
                     _("record incidents from JSON Lines (one incident per line; - reads standard input)"))
    p.add_argument("file", nargs="?", default="-", metavar="FILE",
                   help=_("JSON Lines file, or - for standard input"))
    p.add_argument("--ack", action="store_true",
                   help=_("write one JSON acknowledgement per input line to standard output as it commits"))
    p.add_argument("--json", action="store_true",
                   help=_("JSON for machines: the acknowledgements, then the summary as JSON"))
    p.add_argument("--wait", type=float, default=None, metavar="SECONDS",
                   help=_("how long a line waits for a database that went away (default: the intake "
                          "policy's, 300)"))


def _open(name: str) -> BinaryIO:
    if name == "-":
        return sys.stdin.buffer
    path = Path(name)
    if not path.is_file():
        raise UsageError(_("No such file: {path}").format(path=name))
    return path.open("rb")


class _Interrupted(Exception):
    """Raised by the signal handler while intake is blocked reading its next line."""


class StopReading:
    """Lines from the stream until it ends or a stop signal comes.

    A signal while a line is being stored only sets ``stopped`` (the line finishes); one while
    intake waits for its next line ends the wait at once.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.stopped = threading.Event()
        self._reading = False

    def __iter__(self) -> Iterator[bytes]:
        from dispatch_console.incidents import INTAKE_LIMITS

        while not self.stopped.is_set():
            try:
                self._reading = True
                raw = bounded_input.read_line(self.stream, INTAKE_LIMITS)  # a 1 GB line is never held
                self._reading = False
            except _Interrupted:
                return
            finally:
                self._reading = False
            if not raw:
                return
            yield raw

    def on_signal(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopped.set()
        if self._reading:
            raise _Interrupted


class _Signals:
    """SIGTERM and SIGINT go to ``handler`` while the block runs (main thread only)."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self.previous[sig] = signal.signal(sig, self.handler)
        return self

    def __exit__(self, *_exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def _say(out: IO[str], text: str) -> None:
    print(text, file=out, flush=True)


def _report(outcome: LineOutcome, acks: bool) -> None:
    if acks:
        _say(sys.stdout, json.dumps(outcome.ack(), ensure_ascii=False))
    if outcome.outcome == "rejected":
        _say(sys.stderr, _("line {line}: {reason}").format(line=outcome.line, reason=outcome.reason))
    elif outcome.outcome == "duplicate" and not acks:
        _say(sys.stdout, _("line {line}: duplicate of {number} (already recorded; not stored again)").format(
            line=outcome.line, number=outcome.number))


def cmd_intake(ctx: CliContext) -> int:
    from dispatch_console.incidents import INTAKE_RETRY, IntakeSummary, IntakeWeather, intake_lines
    from dispatch_console.kernel import transient
    from dispatch_console.kernel.categories import load_catalog

    if ctx.args.wait is not None and not ctx.args.wait > 0:
        raise UsageError(_("--wait must be more than 0 seconds."))
    catalog = load_catalog(ctx.resources)
    acks = bool(ctx.args.ack or ctx.args.json)
    summary = IntakeSummary()
    stream = _open(ctx.args.file)
    reader = StopReading(stream)
    weather = IntakeWeather(
        policy=transient.RetryPolicy(attempts=INTAKE_RETRY.attempts,
                                     within=INTAKE_RETRY.within if ctx.args.wait is None else ctx.args.wait,
                                     first=INTAKE_RETRY.first, cap=INTAKE_RETRY.cap),
        stop=reader.stopped, outage=transient.Outage(log, "intake"))
    gave_up = False
    last_line = 0
    try:
        with _Signals(reader.on_signal):
            # a database away when intake starts is waited for too (signing in is safe to repeat)
            actor, db = transient.retry(lambda: (ctx.actor(), ctx.database()), what=_("Signing in"),
                                        policy=weather.policy, stop=weather.stop, outage=weather.outage)
            for outcome in intake_lines(db, actor, reader, catalog, weather):
                summary.add(outcome)
                last_line = outcome.line
                gave_up = gave_up or outcome.gave_up
                _report(outcome, acks)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    if reader.stopped.is_set():
        _say(sys.stderr, _("Stopped by a signal after line {line}; the lines after it were not read.")
             .format(line=last_line))
    elif gave_up:
        _say(sys.stderr, _("Stopped at line {line}: the database stayed away; the lines after it were not read.")
             .format(line=last_line))
    if ctx.args.json:
        _say(sys.stdout, json.dumps({"summary": {
            "stored": summary.stored, "duplicates": summary.duplicates, "rejected": summary.rejected,
            "last_line": last_line, "complete": not (gave_up or reader.stopped.is_set())}}))
    else:
        _say(sys.stderr if acks else sys.stdout, summary.describe())
    return EXIT_REJECTED if summary.rejected else EXIT_OK
