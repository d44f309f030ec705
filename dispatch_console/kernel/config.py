"""Where things are: the database URL, the data folder, and resource files a site may override.

``--config-dir`` / ``DISPATCH_CONFIG_DIR`` names a folder whose files override the same-named
files under ``resources/`` (policies, checklists, categories …), so a site tunes them without
editing the install.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

import platformdirs

from dispatch_console.kernel import bounded_input
from dispatch_console.kernel.errors import DispatchError

log = logging.getLogger(__name__)

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
    problems: list[DispatchError] = field(default_factory=list)  # site files disabled, and why

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
        """The TOML file ``relative``, read through the bounded reader.

        A site's copy that cannot be read (too big, not UTF-8, nested too deep, a syntax error) is
        disabled, not fatal: the shipped file is used, the reason is logged and kept in
        ``problems``. A shipped file that cannot be read raises InputError (file, line, reason);
        no file at all is FileNotFoundError."""
        if relative not in self._cache:
            path = self.path(relative)
            if not path.is_file():
                raise FileNotFoundError(str(path))
            shipped = resources_root() / relative
            try:
                self._cache[relative] = bounded_input.load_toml(path, bounded_input.SITE_FILE_LIMITS)
            except bounded_input.InputError as exc:
                if path == shipped or not shipped.is_file():
                    raise
                log.warning("site file disabled, using the shipped %s: %s", relative, exc)
                self.problems.append(exc)
                self._cache[relative] = bounded_input.load_toml(shipped, bounded_input.SITE_FILE_LIMITS)
        return self._cache[relative]
