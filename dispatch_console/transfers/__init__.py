"""Cross-region transfer (跨区域联动): handing an incident to another duty room with a receipt.

- :mod:`.config` — ``policies/transfers.toml``: this room, the rooms it exchanges with, the shared
  exchange folder, the receipt deadline; the shared keys from the keyring or the config folder;
- :mod:`.package` — the transfer package (JSON, ``resources/transfers/package.schema.json``, NENA
  EIDO field names), its HMAC-SHA256 signature, reading one through the bounded reader;
- :mod:`.service` — send, the inbox, accept and refuse, the status packages that flow back, the
  receipt deadline (timer kind ``transfer_receipt``), polling the exchange folder (a timer-engine
  companion; each package taken once across workstations by a unique key).

This is the room's public face: what the views and the command line use.
"""

from __future__ import annotations

from dispatch_console.transfers.config import TransferConfig
from dispatch_console.transfers.config import load as load_config
from dispatch_console.transfers.exchange import ExchangeUnavailable
from dispatch_console.transfers.service import (
    NOTE_CHARS,
    PollReport,
    TransferRow,
    accept,
    inbox,
    poll,
    refuse,
    send,
    setup_exchange,
    status_label,
)
from dispatch_console.transfers.service import transfers as list_transfers

__all__ = [
    "NOTE_CHARS",
    "ExchangeUnavailable",
    "PollReport",
    "TransferConfig",
    "TransferRow",
    "accept",
    "inbox",
    "list_transfers",
    "load_config",
    "poll",
    "refuse",
    "send",
    "setup_exchange",
    "status_label",
]
