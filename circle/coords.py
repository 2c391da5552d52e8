"""WGS-84 / GCJ-02 / BD-09 coordinate conversion."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, TypeVar, overload

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from circle.defaults import COORD_SYSTEMS
from circle.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import ArrayLike, NDArray

    FloatArray = NDArray[np.float64]
    _Pair = Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]

_GeoT = TypeVar("_GeoT", gpd.GeoSeries, gpd.GeoDataFrame)

__all__ = [
    "COORD_SYSTEMS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "check_coords",
    "convert_geometries",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]


KRASOVSKY_A_M = 6378245.0
"""Semi-major axis of the Krasovsky 1940 ellipsoid used by the GCJ-02 algorithm, in metres."""

KRASOVSKY_EE = 0.00669342162296594323
"""First eccentricity squared of the Krasovsky 1940 ellipsoid used by the GCJ-02 algorithm."""

# The conventional rough box for "inside mainland China" used by open-source GCJ-02 code, in
# degrees. It is an approximation, not the border: it also covers Taiwan, Hong Kong, Macau and
# parts of neighbouring countries (Mongolia, Korea, Japan, South-East Asia). circle keeps it
# because every widely used implementation does, so converted coordinates match other tools.
CHINA_LON_MIN_DEG = 72.004
CHINA_LON_MAX_DEG = 137.8347
CHINA_LAT_MIN_DEG = 0.8293
CHINA_LAT_MAX_DEG = 55.8271

BD09_X_PI = math.pi * 3000.0 / 180.0
"""Angular factor of the published BD-09 <-> GCJ-02 formulas, in radians per degree."""

GCJ02_INVERSE_TOLERANCE_DEG = 1e-9
"""Stop iterating the GCJ-02 inverse once the forward image is this close to the input (~0.1 mm)."""

GCJ02_INVERSE_MAX_ITERATIONS = 30
"""Upper bound on iterations of the GCJ-02 inverse; it normally stops after five."""


def check_coords(name: str) -> str:
    """Return the canonical name of a coordinate system, matched case-insensitively.

    Parameters
    ----------
    name
        {"wgs84", "gcj02", "bd09"} in any letter case; surrounding spaces are ignored.

    Returns
    -------
    str
        The lower-case name, one of `COORD_SYSTEMS`.

    Raises
    ------
    InputError
        If `name` is not one of the known coordinate systems.

    Examples
    --------
    >>> check_coords("GCJ02")
    'gcj02'
    """
    canonical = name.strip().lower() if isinstance(name, str) else None
    if canonical not in COORD_SYSTEMS:
        valid = ", ".join(f"`{c}`" for c in COORD_SYSTEMS)
        msg = (
            f"`coords` is {name!r}, which is not a known coordinate system; use one of {valid} "
            "(OpenStreetMap/GPS: wgs84, AutoNavi/Gaode/Tencent: gcj02, Baidu: bd09)."
        )
        raise InputError(msg)
    return canonical


def _as_float_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert `lon` and `lat` to float64 arrays of one broadcast shape."""
    try:
        lon_arr = np.asarray(lon, dtype=np.float64)
        lat_arr = np.asarray(lat, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"`lon` and `lat` must be numbers or arrays of numbers ({exc})."
        raise InputError(msg) from exc
    try:
        lon_b, lat_b = np.broadcast_arrays(lon_arr, lat_arr)
    except ValueError as exc:
        msg = (
            f"`lon` has shape {lon_arr.shape} and `lat` has shape {lat_arr.shape}; "
            "give them the same shape."
        )
        raise InputError(msg) from exc
    return lon_b, lat_b


def _run(func: _Pair, lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Run an array kernel on flat copies of the inputs and give back arrays of the input shape."""
    lon_arr, lat_arr = _as_float_arrays(lon, lat)
    out_lon, out_lat = func(lon_arr.ravel(), lat_arr.ravel())
    return out_lon.reshape(lon_arr.shape), out_lat.reshape(lat_arr.shape)


@overload
def _apply(func: _Pair, lon: float, lat: float) -> tuple[float, float]: ...
@overload
def _apply(func: _Pair, lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def _apply(func: _Pair, lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Run an array kernel; give back Python floats when both inputs were scalars."""
    out_lon, out_lat = _run(func, lon, lat)
    if out_lon.ndim == 0:
        return float(out_lon), float(out_lat)
    return out_lon, out_lat


def _in_china_box(lon: FloatArray, lat: FloatArray) -> NDArray[np.bool_]:
    """Whether each point lies in the conventional rough box for mainland China (NaN: no)."""
    return (
        (lon >= CHINA_LON_MIN_DEG)
        & (lon <= CHINA_LON_MAX_DEG)
        & (lat >= CHINA_LAT_MIN_DEG)
        & (lat <= CHINA_LAT_MAX_DEG)
    )


def _gcj02_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return the GCJ-02 offset (dlon, dlat) in degrees at WGS-84 points, with no box test.

    This is the published algorithm: the `transformLat` / `transformLon` polynomials with sines in
    a frame centred on (105 E, 35 N), scaled from metres to degrees on the Krasovsky 1940 ellipsoid.
    """
    x = lon - 105.0
    y = lat - 35.0
    x_pi = x * math.pi
    y_pi = y * math.pi
    shared = (20.0 * np.sin(6.0 * x_pi) + 20.0 * np.sin(2.0 * x_pi)) * 2.0 / 3.0
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + shared
        + (20.0 * np.sin(y_pi) + 40.0 * np.sin(y_pi / 3.0)) * 2.0 / 3.0
        + (160.0 * np.sin(y_pi / 12.0) + 320.0 * np.sin(y_pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + shared
        + (20.0 * np.sin(x_pi) + 40.0 * np.sin(x_pi / 3.0)) * 2.0 / 3.0
        + (150.0 * np.sin(x_pi / 12.0) + 300.0 * np.sin(x_pi / 30.0)) * 2.0 / 3.0
    )
    lat_rad = np.radians(lat)
    magic = 1.0 - KRASOVSKY_EE * np.sin(lat_rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / (
        (KRASOVSKY_A_M * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * math.pi
    )
    dlon = (dlon * 180.0) / (KRASOVSKY_A_M / sqrt_magic * np.cos(lat_rad) * math.pi)
    return dlon, dlat


def _wgs84_to_gcj02(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    inside = _in_china_box(lon, lat)
    dlon, dlat = _gcj02_offset(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def _gcj02_to_wgs84(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    inside = _in_china_box(lon, lat)
    gcj_lon = lon[inside]
    gcj_lat = lat[inside]
    # Fixed-point iteration w <- w - (F(w) - g) on the forward transform F. The offset's slope
    # is under ~0.01 degree per degree, so each step gains over two digits: from a ~0.01 degree
    # start, five steps bring the error down to ~1e-11 degrees.
    wgs_lon = gcj_lon.copy()
    wgs_lat = gcj_lat.copy()
    for _ in range(GCJ02_INVERSE_MAX_ITERATIONS):
        dlon, dlat = _gcj02_offset(wgs_lon, wgs_lat)
        err_lon = wgs_lon + dlon - gcj_lon
        err_lat = wgs_lat + dlat - gcj_lat
        wgs_lon -= err_lon
        wgs_lat -= err_lat
        if err_lon.size == 0 or (
            np.max(np.abs(err_lon)) < GCJ02_INVERSE_TOLERANCE_DEG
            and np.max(np.abs(err_lat)) < GCJ02_INVERSE_TOLERANCE_DEG
        ):
            break
    out_lon = lon.copy()
    out_lat = lat.copy()
    out_lon[inside] = wgs_lon
    out_lat[inside] = wgs_lat
    return out_lon, out_lat


def _gcj02_to_bd09(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    radius = np.hypot(lon, lat) + 0.00002 * np.sin(lat * BD09_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * BD09_X_PI)
    return radius * np.cos(theta) + 0.0065, radius * np.sin(theta) + 0.006


def _bd09_to_gcj02(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x = lon - 0.0065
    y = lat - 0.006
    radius = np.hypot(x, y) - 0.00002 * np.sin(y * BD09_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * BD09_X_PI)
    return radius * np.cos(theta), radius * np.sin(theta)


def _wgs84_to_bd09(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    return _gcj02_to_bd09(*_wgs84_to_gcj02(lon, lat))


def _bd09_to_wgs84(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    return _gcj02_to_wgs84(*_bd09_to_gcj02(lon, lat))


def _identity(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    return lon.copy(), lat.copy()


@overload
def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert WGS-84 longitude/latitude to GCJ-02 (AutoNavi/Gaode, Tencent).

    Uses the published GCJ-02 algorithm: polynomial-plus-sine offsets in metres around
    (105 E, 35 N), turned into degrees on the Krasovsky 1940 ellipsoid. The offset is a few
    hundred metres in China. Points outside the conventional rough box for mainland China
    (longitude 72.004..137.8347, latitude 0.8293..55.8271; the box also takes in Taiwan, Hong
    Kong, Macau and parts of neighbouring countries) are returned unchanged, as every common
    implementation does.

    Parameters
    ----------
    lon, lat
        WGS-84 longitude and latitude in degrees: scalars or arrays of one shape.

    Returns
    -------
    tuple
        GCJ-02 (lon, lat): floats if both inputs were scalars, otherwise float64 arrays of the
        input shape.

    Raises
    ------
    InputError
        If the inputs are not numeric or their shapes do not match.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(121.5272106, 31.1774276)
    >>> round(lon, 6), round(lat, 6)
    (121.531542, 31.175304)
    """
    return _apply(_wgs84_to_gcj02, lon, lat)


@overload
def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert GCJ-02 longitude/latitude (AutoNavi/Gaode, Tencent) to WGS-84.

    GCJ-02 has no closed-form inverse. Starting from the GCJ-02 point, the WGS-84 estimate is
    moved by the difference between its forward GCJ-02 image and the target until that difference
    is below `GCJ02_INVERSE_TOLERANCE_DEG` (about 0.1 mm) in both coordinates, at most
    `GCJ02_INVERSE_MAX_ITERATIONS` times, all points at once. Round trips agree to millimetres.
    Points outside the rough China box (see `wgs84_to_gcj02`) are returned unchanged.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude and latitude in degrees: scalars or arrays of one shape.

    Returns
    -------
    tuple
        WGS-84 (lon, lat): floats if both inputs were scalars, otherwise float64 arrays of the
        input shape.

    Raises
    ------
    InputError
        If the inputs are not numeric or their shapes do not match.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(121.531541859215, 31.17530398364597)
    >>> round(lon, 7), round(lat, 7)
    (121.5272106, 31.1774276)
    """
    return _apply(_gcj02_to_wgs84, lon, lat)


@overload
def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert GCJ-02 longitude/latitude to BD-09 (Baidu).

    Uses the published formula: with ``x_pi = pi * 3000 / 180``, the radius gains
    ``2e-5 * sin(lat * x_pi)`` and the angle ``3e-6 * cos(lon * x_pi)``, then the point moves by
    (0.0065, 0.006) degrees. Like other open-source tools, it applies everywhere, with no box test.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude and latitude in degrees: scalars or arrays of one shape.

    Returns
    -------
    tuple
        BD-09 (lon, lat): floats if both inputs were scalars, otherwise float64 arrays of the
        input shape.

    Raises
    ------
    InputError
        If the inputs are not numeric or their shapes do not match.
    """
    return _apply(_gcj02_to_bd09, lon, lat)


@overload
def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert BD-09 longitude/latitude (Baidu) to GCJ-02.

    Uses the standard closed form that undoes `gcj02_to_bd09` approximately (its perturbation
    terms are evaluated at the shifted BD-09 point); a BD-09 -> GCJ-02 -> BD-09 round trip is off
    by at most about 0.25 m in China, well inside geocoding error. It applies everywhere.

    Parameters
    ----------
    lon, lat
        BD-09 longitude and latitude in degrees: scalars or arrays of one shape.

    Returns
    -------
    tuple
        GCJ-02 (lon, lat): floats if both inputs were scalars, otherwise float64 arrays of the
        input shape.

    Raises
    ------
    InputError
        If the inputs are not numeric or their shapes do not match.

    Examples
    --------
    >>> lon, lat = bd09_to_gcj02(116.43351, 39.90851)
    >>> round(lon, 5), round(lat, 5)
    (116.42703, 39.90246)
    """
    return _apply(_bd09_to_gcj02, lon, lat)


@overload
def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert WGS-84 longitude/latitude to BD-09 (Baidu), through GCJ-02.

    Parameters
    ----------
    lon, lat
        WGS-84 longitude and latitude in degrees: scalars or arrays of one shape.

    Returns
    -------
    tuple
        BD-09 (lon, lat): floats if both inputs were scalars, otherwise float64 arrays of the
        input shape.

    Raises
    ------
    InputError
        If the inputs are not numeric or their shapes do not match.
    """
    return _apply(_wgs84_to_bd09, lon, lat)


@overload
def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert BD-09 longitude/latitude (Baidu) to WGS-84, through GCJ-02.

    Parameters
    ----------
    lon, lat
        BD-09 longitude and latitude in degrees: scalars or arrays of one shape.

    Returns
    -------
    tuple
        WGS-84 (lon, lat): floats if both inputs were scalars, otherwise float64 arrays of the
        input shape.

    Raises
    ------
    InputError
        If the inputs are not numeric or their shapes do not match.
    """
    return _apply(_bd09_to_wgs84, lon, lat)


_TO_WGS84: dict[str, _Pair] = {
    "wgs84": _identity,
    "gcj02": _gcj02_to_wgs84,
    "bd09": _bd09_to_wgs84,
}
_FROM_WGS84: dict[str, _Pair] = {
    "wgs84": _identity,
    "gcj02": _wgs84_to_gcj02,
    "bd09": _wgs84_to_bd09,
}


def to_wgs84(lon: ArrayLike, lat: ArrayLike, *, coords: str) -> tuple[FloatArray, FloatArray]:
    """Convert longitude/latitude from the named coordinate system to WGS-84.

    Parameters
    ----------
    lon, lat
        Longitude and latitude in degrees in `coords`: scalars or arrays of one shape.
    coords
        {"wgs84", "gcj02", "bd09"}, any letter case: the system `lon` and `lat` are in.

    Returns
    -------
    tuple of numpy.ndarray
        WGS-84 (lon, lat) as float64 arrays of the input shape (new arrays, also for "wgs84").

    Raises
    ------
    InputError
        If `coords` is unknown, or the inputs are not numeric or their shapes do not match.
    """
    return _run(_TO_WGS84[check_coords(coords)], lon, lat)


def from_wgs84(lon: ArrayLike, lat: ArrayLike, *, coords: str) -> tuple[FloatArray, FloatArray]:
    """Convert WGS-84 longitude/latitude to the named coordinate system.

    Parameters
    ----------
    lon, lat
        WGS-84 longitude and latitude in degrees: scalars or arrays of one shape.
    coords
        {"wgs84", "gcj02", "bd09"}, any letter case: the system to convert to.

    Returns
    -------
    tuple of numpy.ndarray
        (lon, lat) in `coords` as float64 arrays of the input shape (new arrays, also for "wgs84").

    Raises
    ------
    InputError
        If `coords` is unknown, or the inputs are not numeric or their shapes do not match.
    """
    return _run(_FROM_WGS84[check_coords(coords)], lon, lat)


def _is_lon_lat(crs: Any) -> bool:
    """Whether `crs` is EPSG:4326 (or the same datum in lon/lat axis order, OGC:CRS84)."""
    return bool(CRS.from_user_input(crs).equals("EPSG:4326", ignore_axis_order=True))


def convert_geometries(data: _GeoT, *, source: str, target: str) -> _GeoT:
    """Return a copy of `data` with every coordinate converted from `source` to `target`.

    All vertices of all geometries (points, lines, polygons, multi-part geometries and
    collections) are converted in one vectorised call through `shapely.transform`; Z values and
    empty or missing geometries are kept. Only the active geometry column of a GeoDataFrame is
    converted. The CRS is left as it is: GCJ-02 and BD-09 have no EPSG code, so data in them is
    stored as EPSG:4326 by convention.

    Parameters
    ----------
    data
        GeoSeries or GeoDataFrame with longitude/latitude coordinates: its CRS must be EPSG:4326
        or unset. It is not modified.
    source, target
        {"wgs84", "gcj02", "bd09"}, any letter case: the systems to convert from and to.

    Returns
    -------
    geopandas.GeoSeries or geopandas.GeoDataFrame
        A new object of the same type, index and columns as `data`.

    Raises
    ------
    InputError
        If `source` or `target` is unknown, or `data` has a CRS other than EPSG:4326.
    """
    source = check_coords(source)
    target = check_coords(target)
    if data.crs is not None and not _is_lon_lat(data.crs):
        msg = (
            f"`data` has CRS {data.crs.to_string()!r}, but coordinate systems can only be "
            "converted in longitude/latitude; reproject it with `.to_crs('EPSG:4326')` first."
        )
        raise InputError(msg)
    to_wgs = _TO_WGS84[source]
    from_wgs = _FROM_WGS84[target]

    def convert_xy(coords: FloatArray) -> FloatArray:
        out = coords.copy()
        out[:, 0], out[:, 1] = from_wgs(*to_wgs(coords[:, 0], coords[:, 1]))
        return out

    converted = shapely.transform(np.asarray(data.geometry.array), convert_xy, include_z=True)
    if isinstance(data, gpd.GeoDataFrame):
        result = data.copy()
        result[data.geometry.name] = gpd.GeoSeries(converted, index=data.index, crs=data.crs)
        return result
    return gpd.GeoSeries(converted, index=data.index, crs=data.crs, name=data.name)
