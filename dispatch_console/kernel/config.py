"""Where things are: the database URL, the data folder, and resource files a site may override.

``--config-dir`` / ``DISPATCH_CONFIG_DIR`` names a folder whose files override the same-named
files under ``resources/`` (policies, checklists, categories …), so a site tunes them without
editing the install.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "dispatch-console"


def data_dir() -> Path:
    path = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_url() -> str:
    return f"sqlite:///{data_dir() / 'dispatch.sqlite3'}"


def demo_db_url() -> str:
    return f"sqlite:///{data_dir() / 'demo.sqlite3'}"


def resources_root() -> Path:
    return Path(str(importlib_resources.files("resources")))


@dataclass
class Resources:
    """Resource files with the site's config folder laid over the shipped ones."""

    config_dir: Path | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, config_dir: str | os.PathLike[str] | None = None) -> Resources:
        value = config_dir or os.environ.get("DISPATCH_CONFIG_DIR")
        return cls(Path(value) if value else None)

    def path(self, relative: str) -> Path:
        """The file to use for ``relative``: the site's copy if it has one, else the shipped one."""
        if self.config_dir is not None:
            candidate = self.config_dir / relative
            if candidate.exists():
                return candidate
        return resources_root() / relative

    def files(self, folder: str, suffix: str) -> list[Path]:
        """Every file in ``folder`` by name, site files replacing shipped files of the same name."""
        found: dict[str, Path] = {}
        shipped = resources_root() / folder
        if shipped.is_dir():
            found.update({p.name: p for p in shipped.iterdir() if p.name.endswith(suffix)})
        if self.config_dir is not None and (self.config_dir / folder).is_dir():
            found.update({p.name: p for p in (self.config_dir / folder).iterdir() if p.name.endswith(suffix)})
        return [found[name] for name in sorted(found)]

    def toml(self, relative: str) -> dict[str, Any]:
        if relative not in self._cache:
            with self.path(relative).open("rb") as fh:
                self._cache[relative] = tomllib.load(fh)
        return self._cache[relative]
