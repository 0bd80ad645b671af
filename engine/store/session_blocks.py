"""What the session's write buffers share: a block holding rows in `Session.info` until its end, and whether a
transaction lies inside one that ended (engine.store.history_buffer, waiting_keys, inserted_rows)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy.orm import Session, SessionTransaction


@contextmanager
def holding(session: Session, key: str, empty: Callable[[], Any], send: Callable[[Session], None]) -> Iterator[None]:
    """Keep `empty()` under `session.info[key]` for the block, then `send` what it holds (nested blocks share the
    outer one's). A block that fails still sends, in case the caller goes on and commits what the block wrote; a
    transaction the error broke cannot take the rows, and the caller's error is the one to see."""
    if key in session.info:
        yield
        return
    session.info[key] = empty()
    try:
        yield
    except BaseException:
        with suppress(Exception):
            send(session)
        raise
    else:
        send(session)
    finally:
        session.info.pop(key, None)


def inside(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    """Whether `transaction` is `ended` or nested in it."""
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False
