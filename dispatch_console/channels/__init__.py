"""Channels: WeCom and DingTalk group robots and SMS gateways, fed by the outbox."""
