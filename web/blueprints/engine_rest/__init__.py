"""The Camunda 7 REST protocol at /engine-rest: external tasks (docs/external-tasks.md), for Camunda's clients."""

from __future__ import annotations

from web.blueprints.engine_rest import external_tasks, messages, signals, starts
from web.blueprints.engine_rest.base import bp

__all__ = ["bp", "external_tasks", "messages", "signals", "starts"]
