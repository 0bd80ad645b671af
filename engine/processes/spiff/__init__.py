"""The only package that imports SpiffWorkflow: parsing, the sandboxed script engine, runtime, serialization."""

from engine.processes.spiff.engine import SERIALIZER_VERSION, SandboxEnvironment
from engine.processes.spiff.parsing import ProcessDefinition, parse_definitions
from engine.processes.spiff.runtime import (
    PendingMessage,
    PendingTimer,
    ReadyExternalTask,
    ReadyTask,
    Runtime,
    Step,
    Waits,
    cache_counts,
)
from engine.processes.spiff.values import parse_duration, timer_value_problem

__all__ = [
    "SERIALIZER_VERSION",
    "PendingMessage",
    "PendingTimer",
    "ProcessDefinition",
    "ReadyExternalTask",
    "ReadyTask",
    "Runtime",
    "SandboxEnvironment",
    "Step",
    "Waits",
    "cache_counts",
    "parse_definitions",
    "parse_duration",
    "timer_value_problem",
]
