"""Writing outputs: atomically (temporary file, then rename) and deterministically (GeoJSON)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
import shapely.geometry

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

__all__ = ["atomic_path", "geojson_bytes"]


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success rename it onto `target`.

    The caller writes the whole file to the yielded path. If the block raises, the temporary
    file is removed and `target` is left as it was, so a reader never sees half a file.

    Parameters
    ----------
    target
        The file to create or replace. Its folder is created if missing.

    Yields
    ------
    Path
        A path in the same folder (so the final rename is atomic on one file system).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.chmod(0o666 & ~_current_umask())  # mkstemp makes 0600; give the usual permissions
    try:
        yield tmp
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def geojson_bytes(
    properties: Sequence[Mapping[str, Any]],
    geometries: Sequence[shapely.Geometry | None] | np.ndarray,
    *,
    coordinate_decimals: int,
    members: Mapping[str, str] | None = None,
) -> bytes:
    """A GeoJSON FeatureCollection as bytes, the same for the same input (RFC 7946).

    One feature per line in the given order, property keys in their order, coordinates
    rounded to `coordinate_decimals`, polygon exteriors counterclockwise and holes
    clockwise, missing geometries ``null``; UTF-8 with LF line ends.

    Parameters
    ----------
    properties
        Per feature, its properties as JSON values (the caller rounds numbers and turns
        missing values into ``None``).
    geometries
        Per feature, a shapely geometry (WGS-84 unless `members` says otherwise) or None.
    coordinate_decimals
        Decimals of coordinates (6: about 0.1 m).
    members
        Top-level foreign members written after ``type`` (``attribution``,
        ``coordinate_system``).

    Returns
    -------
    bytes
    """
    oriented = shapely.orient_polygons(np.asarray(geometries, dtype=object), exterior_cw=False)
    lines = [
        json.dumps(
            {
                "type": "Feature",
                "properties": dict(props),
                "geometry": _geometry_json(geometry, coordinate_decimals),
            },
            ensure_ascii=False,
            allow_nan=False,
        )
        for props, geometry in zip(properties, oriented, strict=True)
    ]
    head = json.dumps({"type": "FeatureCollection", **(members or {})}, ensure_ascii=False)
    text = head[:-1] + ', "features": [\n' + ",\n".join(lines) + "\n]}\n"
    return text.encode("utf-8")


def _rounded_coordinates(value: Any, decimals: int) -> Any:
    if isinstance(value, (list, tuple)):
        return [_rounded_coordinates(v, decimals) for v in value]
    return round(float(value), decimals) + 0.0  # + 0.0: no "-0.0"


def _geometry_json(geometry: shapely.Geometry | None, decimals: int) -> dict[str, Any] | None:
    if geometry is None or geometry.is_empty:
        return None
    mapping = shapely.geometry.mapping(geometry)
    if "geometries" in mapping:  # a GeometryCollection
        parts = [_geometry_json(g, decimals) for g in shapely.get_parts(geometry)]
        return {"type": mapping["type"], "geometries": parts}
    return {
        "type": mapping["type"],
        "coordinates": _rounded_coordinates(mapping["coordinates"], decimals),
    }
