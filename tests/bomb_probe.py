"""Send files to import through `flowcrm import`, the web wizard or the REST API, in a process of its own, so that
a test can measure the peak memory of the process doing the work (os.wait4 on it). Prints one JSON line per file,
{"file", "status", "body"} (for the command line: its exit code and output).

    python -m tests.bomb_probe cli|web|api DATABASE_URL UPLOAD_DIR FILE...     (as the salesperson "sam")

One process sends every file: starting Python and the app per file was most of the bomb test's time, and the
peak of one process over all the files bounds the peak of each.
"""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

import cli
from engine.bootstrap import uow_factory
from engine.services.users import get_actor, issue_api_token
from tests.conftest import PASSWORD
from web import create_app


def command_line(url: str, path: str) -> tuple[int, str]:
    """(exit code, output) of `flowcrm import FILE --entity Contact --as sam`."""
    arguments = ["--database-url", url, "import", path, "--entity", "Contact", "--as", "sam"]
    done = CliRunner().invoke(cli.main, arguments, catch_exceptions=False)  # a crash fails the probe itself
    return done.exit_code, done.output


def main(how: str, url: str, uploads: str, *paths: str) -> None:
    """Upload each of `paths` as a Contact import the way `how` says, print the answers."""
    if how == "cli":
        for path in paths:
            code, output = command_line(url, path)
            print(json.dumps({"file": path, "status": code, "body": output}))
        return
    app = create_app(
        {
            "DATABASE_URL": url,
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "SECRET_KEY": "probe",
            "IMPORT_UPLOADS": uploads,
        }
    )
    client = app.test_client()
    headers = {}
    if how == "web":
        client.post("/login", data={"username": "sam", "password": PASSWORD})
    else:
        factory = uow_factory(url)
        with factory() as uow:
            user = uow.users.by_username("sam")
            assert user is not None
            user_id = user.id
        token = issue_api_token(factory(), get_actor(factory(), user_id), datetime.now(UTC))
        factory.dispose()
        headers = {"Authorization": f"Bearer {token}"}
    for path in paths:
        upload = {"entity": "Contact", "file": (io.BytesIO(Path(path).read_bytes()), Path(path).name)}
        target = "/imports/new" if how == "web" else "/api/v1/imports"
        response = client.post(target, headers=headers, data=upload, content_type="multipart/form-data")
        print(json.dumps({"file": path, "status": response.status_code, "body": response.get_data(as_text=True)}))
    app.extensions["flowcrm.uow"].dispose()


if __name__ == "__main__":
    main(*sys.argv[1:])
