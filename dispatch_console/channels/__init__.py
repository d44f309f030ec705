"""Channels: WeCom and DingTalk group robots and SMS gateways, fed by the outbox; leader call-out.

This room stands above notifications and timers. :func:`install` registers its sender kinds
with the outbox (the composition root, or the agent, calls it once before reading notify.toml);
the call-out's timer effect is ``dispatch_console.channels.callout.on_timer`` (kind ``call``).
"""

from __future__ import annotations


def install() -> None:
    """Let notify.toml name the channel kinds (wecom, dingtalk, sms_aliyun, sms_tencent)."""
    from functools import partial

    from dispatch_console.channels import config
    from dispatch_console.notifications import outbox

    for kind in config.CHANNEL_TYPES:
        outbox.register_kind(kind, problems=partial(config.problems, kind), build=config.build)
