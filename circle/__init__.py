"""circle: walkable access to everyday community services (15-minute life circles).

Start with :class:`Study`::

    from circle import Study, compare

    study = Study.load("city.osm.pbf", "facilities.geojson")
    base = study.coverage()
    closed = study.scenario(close=["clinic-7"]).coverage()
    compare(base, closed).newly_uncovered()

The names below are imported on first use, so ``import circle`` (and ``circle --help``)
stays fast. Map data derived from OpenStreetMap is © OpenStreetMap contributors, ODbL 1.0.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from circle.comparison import Comparison, compare
    from circle.coverage import CoverageResult, StatusCutoffs
    from circle.errors import CircleError, InputError, NetworkUnavailableError
    from circle.network import WalkNetwork, load_network
    from circle.scenario import Scenario, load_scenarios
    from circle.study import Study
    from circle.walking import ADULT, ELDERLY, Threshold, WalkingProfile, walking_profile

try:
    __version__ = version("circle")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "ADULT": "circle.walking",
    "ELDERLY": "circle.walking",
    "CircleError": "circle.errors",
    "Comparison": "circle.comparison",
    "CoverageResult": "circle.coverage",
    "InputError": "circle.errors",
    "NetworkUnavailableError": "circle.errors",
    "Scenario": "circle.scenario",
    "StatusCutoffs": "circle.coverage",
    "Study": "circle.study",
    "Threshold": "circle.walking",
    "WalkNetwork": "circle.network",
    "WalkingProfile": "circle.walking",
    "compare": "circle.comparison",
    "load_network": "circle.network",
    "load_scenarios": "circle.scenario",
    "walking_profile": "circle.walking",
}

__all__ = [
    "ADULT",
    "ELDERLY",
    "CircleError",
    "Comparison",
    "CoverageResult",
    "InputError",
    "NetworkUnavailableError",
    "Scenario",
    "StatusCutoffs",
    "Study",
    "Threshold",
    "WalkNetwork",
    "WalkingProfile",
    "__version__",
    "compare",
    "load_network",
    "load_scenarios",
    "walking_profile",
]


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        msg = f"module 'circle' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
