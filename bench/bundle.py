"""The shipped bundle as read once per bench run: every database of the run gets the same configuration, even
while the files change under a long run."""

from __future__ import annotations

from functools import cache

from bench.common import DEPLOYER, NOW, ROOT
from engine.bootstrap import UowFactory, uow_factory
from engine.config.loader import read_bundle_dir
from engine.services.deployments import deploy_bundle


@cache
def _snapshot() -> tuple[tuple[str, str], ...]:
    return tuple(sorted(read_bundle_dir(ROOT).items()))


def shipped_files() -> dict[str, str]:
    """The repository's bundle files as first read by this process (a fresh dict each call)."""
    return dict(_snapshot())


def deployed(url: str) -> UowFactory:
    """A unit-of-work factory on `url` with the snapshot of the shipped bundle deployed."""
    factory = uow_factory(url)
    deploy_bundle(factory(), DEPLOYER, shipped_files(), NOW)
    return factory
