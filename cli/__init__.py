"""flowcrm command line: set up the database, check and deploy configuration, run the web app and worker, import,
find, report and audit. `flowcrm = "cli:main"`; each area's commands live in a module of this package."""

from __future__ import annotations

from cli import audit, config_files, core, data_quality, finding  # noqa: F401  (they register their commands on main)
from cli.base import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
