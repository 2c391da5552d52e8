"""Writing outputs: atomically (temporary file, then rename) and deterministically (GeoJSON)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import shapely
import shapely.geometry

from circle.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from types import FrameType

__all__ = [
    "STAGING_PREFIX",
    "atomic_path",
    "check_not_inputs",
    "check_outputs",
    "check_writable",
    "geojson_bytes",
    "geojson_bytes_of_texts",
    "output_folder",
    "python_rounded",
    "texts_by_key",
]

logger = logging.getLogger(__name__)

#: Name start of the staging folders :func:`output_folder` makes inside an output folder.
STAGING_PREFIX: Final = ".circle-staging-"
#: Shapely's type ids of the shapes :func:`geojson_bytes` writes in one pass.
_POLYGON: Final = 3
_MULTIPOLYGON: Final = 6
#: Below this, floats of integers are exact with room to spare (:func:`python_rounded`).
_EXACT_INTEGERS: Final = 2.0**50


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
    texts = [json.dumps(dict(props), ensure_ascii=False, allow_nan=False) for props in properties]
    return geojson_bytes_of_texts(
        texts, geometries, coordinate_decimals=coordinate_decimals, members=members
    )


def geojson_bytes_of_texts(
    property_texts: Sequence[str],
    geometries: Sequence[shapely.Geometry | None] | np.ndarray,
    *,
    coordinate_decimals: int,
    members: Mapping[str, str] | None = None,
) -> bytes:
    """:func:`geojson_bytes` with each feature's properties given as JSON object text.

    `property_texts` are what ``json.dumps(properties, ensure_ascii=False)`` gives, so a
    caller that encodes a table column by column writes the same bytes.
    """
    oriented = shapely.orient_polygons(np.asarray(geometries, dtype=object), exterior_cw=False)
    shapes = _geometry_texts(oriented, coordinate_decimals)
    lines = [
        '{"type": "Feature", "properties": ' + props + ', "geometry": ' + shape + "}"
        for props, shape in zip(property_texts, shapes, strict=True)
    ]
    head = json.dumps({"type": "FeatureCollection", **(members or {})}, ensure_ascii=False)
    text = head[:-1] + ', "features": [\n' + ",\n".join(lines) + "\n]}\n"
    return text.encode("utf-8")


def python_rounded(values: np.ndarray, decimals: int) -> np.ndarray:
    """``round(x, decimals)`` of each float as Python gives it, in one numpy pass.

    Python rounds the exact binary value half to even at the decimal digit and returns the
    float nearest that decimal; :func:`numpy.round` scales by ``10**decimals`` first, which
    can cross a half. Here ``k = rint(x * 10**decimals)`` is the integer Python's rounding
    picks unless the scaled value lies within a rounding error of a half, and then
    ``k / 10**decimals`` (one correctly rounded division) is the float nearest the decimal,
    as Python's; values near a half or huge are rounded by Python one by one (NaN and infinities
    stay as they are, as with Python).

    Parameters
    ----------
    values
        Floats.
    decimals
        Decimals to keep, 0 to 15.

    Returns
    -------
    numpy.ndarray
        Floats, bit for bit ``[round(x, decimals) for x in values]`` (``-0.0`` kept).
    """
    x = np.asarray(values, dtype=float)
    scale = 10.0**decimals
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = x * scale
        rounded = np.rint(scaled) / scale
        distance = np.abs(np.abs(scaled - np.floor(scaled)) - 0.5)
        doubtful = ~(distance > 1e-9 * np.maximum(np.abs(scaled), 1.0))
        doubtful |= ~(np.abs(scaled) < _EXACT_INTEGERS)
    doubtful &= np.isfinite(x)  # NaN and infinities come out of rint as they went in
    if doubtful.any():
        rounded[doubtful] = [round(v, decimals) for v in x[doubtful].tolist()]
    return rounded


def texts_by_key(keys: np.ndarray, write: Callable[[np.ndarray], list[str]]) -> list[str]:
    """The text of every row, written once per distinct key (shared points, repeated numbers).

    `write` gets the positions of each distinct key's first row and returns their texts;
    every row then gets the text of its key.
    """
    _, first, which = np.unique(keys, return_index=True, return_inverse=True)
    texts = np.asarray(write(first), dtype=object)
    return texts[which.reshape(-1)].tolist()  # type: ignore[no-any-return]


def _geometry_texts(geometries: np.ndarray, decimals: int) -> list[str]:
    """Each geometry as the JSON text of :func:`_geometry_json`.

    Polygons and multipolygons (2D, no empty parts) are written in one pass over all their
    coordinates, in the text ``json.dumps`` gives; other geometries one by one.
    """
    texts: list[str] = [""] * len(geometries)
    type_ids = shapely.get_type_id(geometries)
    areal = np.isin(type_ids, (_POLYGON, _MULTIPOLYGON))
    areal &= ~shapely.is_empty(geometries) & ~shapely.has_z(geometries)
    parts, part_of = shapely.get_parts(geometries[areal], return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coordinates = shapely.get_coordinates(rings)
    if shapely.is_empty(parts).any() or not np.isfinite(coordinates).all():
        areal[:] = False  # unusual shapes: all one by one
    for i in np.flatnonzero(~areal).tolist():
        shape = _geometry_json(geometries[i], decimals)
        texts[i] = json.dumps(shape, ensure_ascii=False, allow_nan=False)
    if not areal.any():
        return texts
    # "[x, y]" of each distinct point once (+ 0.0: no "-0.0"; shared vertices of
    # neighbouring shapes and ring ends repeat), as _geometry_json's json.dumps writes it.
    rounded = np.ascontiguousarray(python_rounded(coordinates, decimals) + 0.0)
    points = texts_by_key(
        rounded.view(np.complex128).ravel(),
        lambda first: [f"[{x!r}, {y!r}]" for x, y in rounded[first].tolist()],
    )
    ring_texts = _bracketed(points, np.cumsum(shapely.get_num_coordinates(rings)).tolist())
    part_texts = _grouped(ring_texts, ring_of, len(parts))
    geometry_texts = _grouped(part_texts, part_of, int(areal.sum()))
    for i, parts_text in zip(np.flatnonzero(areal).tolist(), geometry_texts, strict=True):
        if type_ids[i] == _POLYGON:
            texts[i] = '{"type": "Polygon", "coordinates": ' + parts_text[1:-1] + "}"
        else:
            texts[i] = '{"type": "MultiPolygon", "coordinates": ' + parts_text + "}"
    return texts


def _grouped(items: list[str], group_of: np.ndarray, n_groups: int) -> list[str]:
    """``"[a, b]"`` per group of consecutive `items` (`group_of` ascending, none empty)."""
    return _bracketed(items, np.searchsorted(group_of, np.arange(1, n_groups + 1)).tolist())


def _bracketed(items: list[str], ends: list[int]) -> list[str]:
    """``"[a, b]"`` per run of consecutive `items`, each run ending where `ends` says."""
    starts = [0, *ends[:-1]]
    return ["[" + ", ".join(items[a:b]) + "]" for a, b in zip(starts, ends, strict=True)]


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


def _same_file(a: Path, b: Path) -> bool:
    """True when `a` and `b` name one file: the same resolved path, or the same inode."""
    if a.resolve() == b.resolve():
        return True
    try:
        return a.samefile(b)
    except OSError:
        return False


def check_not_inputs(
    outputs: Iterable[str | os.PathLike[str]], inputs: Iterable[str | os.PathLike[str] | None]
) -> None:
    """Refuse to write over a file that was given as input.

    Paths are compared after resolving symbolic links and ``..``, and existing files also
    by inode (hard links), so no spelling of an input path gets it replaced.

    Parameters
    ----------
    outputs
        Files about to be written.
    inputs
        Files that were read (``None`` and non-file sources such as place names are
        skipped).

    Raises
    ------
    InputError
        An output is one of the inputs; the message names both spellings.
    """
    sources = [Path(p) for p in inputs if p is not None and Path(p).exists()]
    for output in map(Path, outputs):
        for source in sources:
            if _same_file(output, source):
                msg = (
                    f"the output `{output}` is the input `{source}`; circle never writes over "
                    "its inputs: choose another output path (or move the input)."
                )
                raise InputError(msg)


def check_writable(outputs: Iterable[str | os.PathLike[str]]) -> None:
    """Check, before any work, that each output file can be created or replaced.

    Parameters
    ----------
    outputs
        Files about to be written (their folders may not exist yet).

    Raises
    ------
    InputError
        An output is an existing folder, a folder on its way is a file, or the nearest
        existing folder cannot be written (the file system is read-only or access is denied).
    """
    probed: set[Path] = set()
    for output in map(Path, outputs):
        if output.is_dir():
            msg = (
                f"`{output}` is a folder, but circle writes a file there; "
                "remove or rename that folder, or choose another output path."
            )
            raise InputError(msg)
        folder = output.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            msg = f"cannot write `{output}`: `{folder}` is a file, not a folder."
            raise InputError(msg)
        if folder in probed:
            continue
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            msg = (
                f"cannot write `{output}`: `{folder}` is not writable ({reason}); "
                "choose another output path."
            )
            raise InputError(msg) from None
        probed.add(folder)


def check_outputs(
    outputs: Iterable[str | os.PathLike[str]],
    *,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
) -> None:
    """:func:`check_not_inputs` and :func:`check_writable`: run both before computing."""
    targets = [Path(p) for p in outputs]
    check_not_inputs(targets, inputs)
    check_writable(targets)


#: Locks this process holds, by lock file (a nested :func:`output_folder` reuses them).
_held_locks: dict[Path, int] = {}
_held_guard = threading.Lock()


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (``flock`` on the folder itself); wait if taken."""
    lock_path = folder.resolve()
    with _held_guard:
        if lock_path in _held_locks:
            _held_locks[lock_path] += 1
            owner = False
        else:
            owner = True
    if not owner:
        try:
            yield
        finally:
            with _held_guard:
                _held_locks[lock_path] -= 1
        return
    fd = os.open(lock_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.warning("another circle run is writing to %s; waiting for it to finish", folder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        with _held_guard:
            _held_locks[lock_path] = 1
        try:
            yield
        finally:
            with _held_guard:
                del _held_locks[lock_path]
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while the block runs, then deliver them.

    Only the main thread can set signal handlers; elsewhere the block runs unguarded.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []  # signal numbers

    def record(signum: int, _frame: FrameType | None) -> None:
        caught.append(signum)

    previous = {s: signal.signal(s, record) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for number in dict.fromkeys(caught):
            signal.raise_signal(number)


@contextlib.contextmanager
def output_folder(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a staging folder; on success move everything in it into `folder` at once.

    The whole set of files is written into a hidden staging folder inside `folder`, then
    each file is moved onto its name (``os.replace``, atomic per file) with SIGINT and
    SIGTERM held back, so the folder holds the old complete set or the new complete set,
    never a mix. If the block raises (or the run is interrupted), the staging folder is
    removed and `folder` is left as it was. An exclusive lock (``flock`` on the folder)
    makes a second run on the same folder wait; staging folders left by a killed run (SIGKILL)
    are removed under the lock. Files in `folder` that the block does not write are left
    alone.

    Parameters
    ----------
    folder
        The output folder (created if missing).

    Yields
    ------
    Path
        The staging folder to write the files into (subfolders are kept).

    Raises
    ------
    InputError
        `folder` exists and is not a folder.
    """
    target = Path(folder)
    if target.exists() and not target.is_dir():
        msg = f"`{target}` is a file; the output needs a folder."
        raise InputError(msg)
    target.mkdir(parents=True, exist_ok=True)
    with _folder_lock(target):
        for stale in target.glob(STAGING_PREFIX + "*"):
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target))
        try:
            yield staging
            files = sorted(
                p
                for p in staging.rglob("*")
                if p.is_file() and STAGING_PREFIX not in str(p.relative_to(staging))
            )
            for path in files:
                (target / path.relative_to(staging)).parent.mkdir(parents=True, exist_ok=True)
                path.chmod(0o666 & ~_current_umask())
            with _signals_deferred():
                for path in files:
                    path.replace(target / path.relative_to(staging))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
