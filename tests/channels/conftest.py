"""The channels room registers its sender kinds with the outbox (as the agent does at start)."""

from __future__ import annotations

import pytest

from dispatch_console.channels import install


@pytest.fixture(autouse=True)
def _channel_kinds() -> None:
    install()
