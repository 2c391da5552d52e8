"""Choices and defaults of circle's options that need no heavy library to state.

The command line builds its options from these (and from :mod:`circle.walking` and
:mod:`circle.presets`) without importing pandas or geopandas, so ``circle --help`` is quick;
the modules that use each value import it from here, so it is defined once.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = [
    "CAPACITY_METHODS",
    "COORD_SYSTEMS",
    "DEFAULT_CANDIDATE_SPACING_M",
    "DEFAULT_H3_RESOLUTION",
    "DEFAULT_K",
    "DEFAULT_TIME_LIMIT_S",
    "MAP_TILES",
    "POPULATION_PROXIES",
    "CapacityMethod",
    "PopulationProxy",
]

#: Names accepted wherever circle asks which coordinate system lon/lat values are in: WGS-84
#: (GPS, OpenStreetMap), GCJ-02 (Gaode/AutoNavi, Tencent), BD-09 (Baidu).
COORD_SYSTEMS: Final[tuple[str, ...]] = ("wgs84", "gcj02", "bd09")

#: The map's default basemap: AutoNavi/Gaode tiles in Chinese, CARTO in English (see
#: :func:`circle.maps.choose_tiles`); ``"none"`` draws no basemap.
MAP_TILES: Final = "auto"

#: H3 resolution of the default neighbourhood grid (9: hexagons of about 0.1 km²).
DEFAULT_H3_RESOLUTION: Final = 9

#: Where people are estimated when no population layer is given: ``auto`` (residential
#: buildings of a ``.osm.pbf`` when enough are tagged, else along the network), ``buildings``
#: or ``network``.
PopulationProxy = Literal["auto", "buildings", "network"]
POPULATION_PROXIES: Final[tuple[PopulationProxy, ...]] = ("auto", "buildings", "network")

#: Recommended sites when neither a count nor a target share is given.
DEFAULT_K: Final = 5
#: Generated candidate sites lie on the walking network on a grid of this spacing (metres).
DEFAULT_CANDIDATE_SPACING_M: Final = 200.0
#: Time limit of the exact siting solver (seconds).
DEFAULT_TIME_LIMIT_S: Final = 60.0

#: A capacity method: two-step floating catchment, or its enhanced variant with decay.
CapacityMethod = Literal["2sfca", "e2sfca"]
#: The capacity methods, the default first.
CAPACITY_METHODS: Final[tuple[CapacityMethod, ...]] = ("2sfca", "e2sfca")
