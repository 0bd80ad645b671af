"""The sandbox limits come from FLOWCRM_SANDBOX_* variables, with documented defaults."""

from __future__ import annotations

import pytest

from engine.errors import ConfigError
from engine.limits import Limits


def test_defaults_are_one_cpu_second_256_mb_five_wall_seconds_two_workers() -> None:
    assert Limits.from_env({}) == Limits(cpu_seconds=1.0, memory_mb=256, wall_seconds=5.0, workers=2)


def test_variables_override_the_defaults() -> None:
    environ = {
        "FLOWCRM_SANDBOX_CPU_SECONDS": "0.25",
        "FLOWCRM_SANDBOX_MEMORY_MB": "512",
        "FLOWCRM_SANDBOX_WALL_SECONDS": "3",
        "FLOWCRM_SANDBOX_WORKERS": "4",
    }
    assert Limits.from_env(environ) == Limits(cpu_seconds=0.25, memory_mb=512, wall_seconds=3.0, workers=4)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("FLOWCRM_SANDBOX_CPU_SECONDS", "fast"), ("FLOWCRM_SANDBOX_MEMORY_MB", "-1"), ("FLOWCRM_SANDBOX_WORKERS", "1.5")],
)
def test_a_malformed_variable_is_named(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"{variable}: '{value}' is not a positive"):
        Limits.from_env({variable: value})
