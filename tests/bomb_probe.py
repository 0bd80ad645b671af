"""Send one file to import through the web wizard or the REST API, in a process of its own, so that a test can
measure the peak memory of the process doing the work (os.wait4 on it). Prints {"status", "body"} as JSON.

    python -m tests.bomb_probe web|api DATABASE_URL UPLOAD_DIR FILE        (logs in as the salesperson "sam")
"""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from engine.bootstrap import uow_factory
from engine.services.users import get_actor, issue_api_token
from tests.conftest import PASSWORD
from web import create_app


def main(how: str, url: str, uploads: str, path: str) -> None:
    """Upload `path` as a Contact import the way `how` says, print the answer."""
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
    upload = {"entity": "Contact", "file": (io.BytesIO(Path(path).read_bytes()), Path(path).name)}
    if how == "web":
        client.post("/login", data={"username": "sam", "password": PASSWORD})
        response = client.post("/imports/new", data=upload, content_type="multipart/form-data")
    else:
        factory = uow_factory(url)
        with factory() as uow:
            user = uow.users.by_username("sam")
            assert user is not None
            user_id = user.id
        token = issue_api_token(factory(), get_actor(factory(), user_id), datetime.now(UTC))
        factory.dispose()
        response = client.post(
            "/api/v1/imports",
            headers={"Authorization": f"Bearer {token}"},
            data=upload,
            content_type="multipart/form-data",
        )
    print(json.dumps({"status": response.status_code, "body": response.get_data(as_text=True)}))
    app.extensions["flowcrm.uow"].dispose()


if __name__ == "__main__":
    main(*sys.argv[1:])
