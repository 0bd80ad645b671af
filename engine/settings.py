"""Runtime settings from the environment, with a SQLite default."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Where the database is, which bundle to deploy, whether demo users exist."""

    database_url: str = field(default_factory=lambda: os.environ.get(
        "DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'flowcrm.sqlite'}"))
    config_dir: Path = field(default_factory=lambda: Path(os.environ.get("FLOWCRM_CONFIG", str(ROOT))))
    secret_key: str = field(default_factory=lambda: os.environ.get("FLOWCRM_SECRET_KEY", ""))
    demo: bool = field(default_factory=lambda: os.environ.get("FLOWCRM_DEMO", "") == "1")
