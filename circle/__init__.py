"""circle: walkable access to everyday community services (15-minute life circles).

Map data derived from OpenStreetMap is © OpenStreetMap contributors, ODbL 1.0.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from circle import access as access
from circle import categories as categories
from circle import coverage as coverage
from circle import errors as errors
from circle import network as network
from circle.access import ADULT, ELDERLY, CompactGraph, WalkingProfile, walking_profile
from circle.coverage import Threshold, compute_access
from circle.errors import CircleError, InputError, NetworkUnavailableError
from circle.network import WalkNetwork, load_network

try:
    __version__ = version("circle")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "ADULT",
    "ELDERLY",
    "CircleError",
    "CompactGraph",
    "InputError",
    "NetworkUnavailableError",
    "Threshold",
    "WalkNetwork",
    "WalkingProfile",
    "__version__",
    "access",
    "categories",
    "compute_access",
    "coverage",
    "errors",
    "load_network",
    "network",
    "walking_profile",
]
