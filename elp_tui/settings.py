"""Per-user preferences (the chosen theme), kept apart from the shared store."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def settings_path() -> Path:
    env = os.environ.get("ELP_CONFIG")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("elp", appauthor=False)) / "settings.json"


def load_settings(path: Path | None) -> dict[str, Any]:
    if path is None or not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_settings(path: Path | None, settings: dict[str, Any]) -> None:
    """Atomic like the store: a half-written settings file must never stop the app."""
    if path is None:
        return
    from elp_tui.store.files import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(settings, indent=2).encode("utf-8"), fsync_folder=False)
