"""Failed sign-ins: record, count within a window, forget."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine.store.security_models import LoginFailureRow


class LoginRepository:
    """Failed sign-ins per user name and per address."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add_failure(self, username: str, address: str, at: datetime) -> None:
        """Remember one failed sign-in."""
        self.session.add(LoginFailureRow(username=username, address=address, at=at))

    def failures_since(
        self, *, since: datetime, username: str | None = None, address: str | None = None
    ) -> tuple[int, datetime | None]:
        """(how many, the oldest moment) of the failures after `since` for a user name or an address."""
        stmt = select(func.count(LoginFailureRow.id), func.min(LoginFailureRow.at)).where(LoginFailureRow.at > since)
        if username is not None:
            stmt = stmt.where(LoginFailureRow.username == username)
        if address is not None:
            stmt = stmt.where(LoginFailureRow.address == address)
        count, oldest = self.session.execute(stmt).one()
        return int(count), oldest

    def forget_user(self, username: str) -> None:
        """A successful sign-in clears that user name's failures (not its address's)."""
        self.session.execute(delete(LoginFailureRow).where(LoginFailureRow.username == username))

    def forget_before(self, moment: datetime) -> None:
        """Drop failures too old to count any more."""
        self.session.execute(delete(LoginFailureRow).where(LoginFailureRow.at < moment))
