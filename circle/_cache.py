"""The on-disk cache of compiled inputs: where it lives, how entries are named, written and read.

Entries are named by a digest of everything that decides their content (the input file's
bytes, circle's version, the rules applied), so an entry is only ever found by a run that
would build exactly the same thing: stale entries are never used, only left behind (delete
the folder at any time). Entries are written to a temporary file in the cache folder and
renamed into place, so a crash or a concurrent run never leaves a half-written entry under
an entry's name. An entry that cannot be read is logged, removed and rebuilt.

The folder is, in order: the ``cache_dir`` a caller passes, the environment variable
``CIRCLE_CACHE_DIR``, the user cache folder of ``platformdirs`` (when installed), or
``~/.cache/circle``. It is never next to the user's input files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "CACHE_DIR_ENV",
    "cache_folder",
    "file_digest",
    "package_version",
    "read_entry",
    "read_entry_as",
    "write_entry",
]

T = TypeVar("T")

logger = logging.getLogger(__name__)

#: Environment variable that sets the cache folder.
CACHE_DIR_ENV = "CIRCLE_CACHE_DIR"
_CHUNK_BYTES = 1 << 20


def cache_folder(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder cache entries are kept in (module docstring), not created here.

    Parameters
    ----------
    cache_dir
        A folder to use instead of the default.

    Returns
    -------
    Path
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    from_env = os.environ.get(CACHE_DIR_ENV, "").strip()
    if from_env:
        return Path(from_env).expanduser()
    try:
        import platformdirs  # noqa: PLC0415
    except ImportError:
        return Path.home() / ".cache" / "circle"
    return Path(platformdirs.user_cache_dir("circle", appauthor=False))


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def entry_key(parts: Mapping[str, Any]) -> str:
    """A hex digest of the JSON of `parts` (sorted keys): an entry's name."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def package_version(package: str) -> str:
    """An installed package's version for an entry's name (``"unknown"`` when not found)."""
    from importlib import metadata  # noqa: PLC0415

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def read_entry(path: Path, key: str) -> dict[str, np.ndarray] | None:
    """The arrays of a cache entry, or None when it is absent or unusable.

    An entry that exists but cannot be read, or was written for another key, is logged
    and removed so that the caller rebuilds it.
    """
    if not path.is_file():
        return None
    try:
        # Opened here, not by numpy, so that a file numpy cannot read is still closed.
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        if str(arrays.pop("_key", np.array(""))) != key:
            msg = "it was written for other inputs"
            raise ValueError(msg)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        logger.warning("ignoring unreadable cache entry %s (%s); rebuilding it", path, exc)
        path.unlink(missing_ok=True)
        return None
    return arrays


def read_entry_as(path: Path, key: str, use: Callable[[dict[str, np.ndarray]], T]) -> T | None:
    """`use` of a cache entry's arrays, or None when the entry is absent or unusable.

    An entry whose arrays `use` rejects (``KeyError``, ``ValueError``, ``TypeError``: they
    do not fit together) is logged and removed like an unreadable one, so that the caller
    rebuilds it.
    """
    arrays = read_entry(path, key)
    if arrays is None:
        return None
    try:
        return use(arrays)
    except (KeyError, ValueError, TypeError) as exc:
        logger.warning("ignoring unreadable cache entry %s (%s); rebuilding it", path, exc)
        path.unlink(missing_ok=True)
        return None


def write_entry(path: Path, key: str, arrays: Mapping[str, np.ndarray]) -> None:
    """Write a cache entry atomically; a folder that cannot be written is only logged."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            payload: dict[str, Any] = {"_key": np.array(key), **arrays}
            with os.fdopen(handle, "wb") as out:
                np.savez(out, **payload)
            Path(tmp).replace(path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError as exc:
        logger.warning("could not write the cache entry %s (%s); continuing without", path, exc)
