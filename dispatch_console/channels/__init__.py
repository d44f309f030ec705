"""Channels: WeCom and DingTalk group robots and SMS gateways, fed by the outbox; leader call-out.

This room stands above notifications and timers. This is its public face: what the views, the
command line and the composition root use.

- :func:`install` registers its sender kinds with the outbox (the composition root, or the agent,
  calls it once before reading notify.toml);
- the call-out (:mod:`.callout`): the call tasks on the console and their outcomes; its timer
  effect is :func:`on_timer` (kind ``call``);
- the channels' state (:mod:`.state`): which channel is down.
"""

from __future__ import annotations

from dispatch_console.channels.callout import CallTask, call_tasks, on_timer, outcome_label, record_outcome
from dispatch_console.channels.config import install
from dispatch_console.channels.state import ChannelStatus, channel_status, down_channels

__all__ = [
    "CallTask",
    "ChannelStatus",
    "call_tasks",
    "channel_status",
    "down_channels",
    "install",
    "on_timer",
    "outcome_label",
    "record_outcome",
]
