"""Per-workstation settings over QSettings, with one table of defaults."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings

DEFAULTS: dict[str, Any] = {
    "db/url": "",          # the street's database (Console → Settings; the password is in the keyring)
    "station/name": "",    # empty: the computer's name
    "alerts/volume": 80,
    "ui/theme": "light",
    "ui/language": "zh_CN",
    "ui/geometry": None,
    "ui/state": None,
    "security/idle_lock_minutes": 15,
    "alerts/sound": True,
    "map/tile_url": "",
    # how the window composes the map: "software" (Qt Quick's software scene graph; the default)
    # or "gpu" (OpenGL through the graphics driver). See ui.shell.app.choose_rendering.
    "ui/rendering": "software",
}


def settings() -> QSettings:
    return QSettings("dispatch-console", "dispatch-console")


def get(key: str) -> Any:
    value = settings().value(key, DEFAULTS.get(key))
    default = DEFAULTS.get(key)
    if isinstance(default, bool) and isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    if isinstance(default, int) and not isinstance(default, bool) and value is not None:
        try:
            return int(value)
        except (TypeError, ValueError):
            return default
    return value


def put(key: str, value: Any) -> None:
    settings().setValue(key, value)
