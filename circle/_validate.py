"""Input checks in one place: collect the problems with an input, then raise or warn once."""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from circle.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "MAX_LISTED",
    "Problems",
    "cell_text",
    "check_readable_file",
    "describe_mask",
    "describe_rows",
    "is_missing_value",
    "one_line",
]

MAX_LISTED: Final = 5
"""How many problems (or rows within one problem) a message lists before "... and K more"."""


def one_line(text: str) -> str:
    """Collapse all whitespace runs (newlines included) in `text` to single spaces."""
    return " ".join(str(text).split())


def describe_rows(
    numbers: Sequence[int] | Iterable[int], *, unit: str = "row", max_listed: int = MAX_LISTED
) -> str:
    """Name 1-based row numbers compactly: ``"row 3"``, ``"rows 2, 5, 9 and 4 more"``.

    Parameters
    ----------
    numbers
        1-based row (or feature) numbers, in the order to list them.
    unit
        The noun to use, such as ``"row"`` or ``"feature"``.
    max_listed
        How many numbers to list before summarising the rest as "and K more".

    Returns
    -------
    str
        The phrase.

    Examples
    --------
    >>> describe_rows([3])
    'row 3'
    >>> describe_rows([1, 2, 3, 4, 5, 6, 7], unit="feature", max_listed=3)
    'features 1, 2, 3 and 4 more'
    """
    items = list(numbers)
    if len(items) == 1:
        return f"{unit} {items[0]}"
    listed = ", ".join(str(n) for n in items[:max_listed])
    rest = len(items) - max_listed
    more = f" and {rest} more" if rest > 0 else ""
    return f"{unit}s {listed}{more}"


def describe_mask(mask: np.ndarray, *, unit: str = "row") -> str:
    """Name the rows where `mask` is True, counted from 1 (see :func:`describe_rows`).

    Examples
    --------
    >>> describe_mask(np.array([False, True, True]), unit="feature")
    'features 2, 3'
    """
    return describe_rows((np.flatnonzero(mask) + 1).tolist(), unit=unit)


def check_readable_file(path: str | os.PathLike[str], *, what: str = "file") -> Path:
    """Return `path` as a `Path` if it is an existing, readable file.

    Parameters
    ----------
    path
        The path given by the user.
    what
        What the file is for, used in the message (``"facilities file"``).

    Returns
    -------
    Path
        The same path.

    Raises
    ------
    InputError
        If the path does not exist, is a folder, or cannot be read.
    """
    file = Path(path)
    if not file.exists():
        msg = f"The {what} `{file}` does not exist; check the path and the current folder."
        raise InputError(msg)
    if file.is_dir():
        msg = f"The {what} `{file}` is a folder; give the path of a file inside it."
        raise InputError(msg)
    if not os.access(file, os.R_OK):
        msg = f"The {what} `{file}` cannot be read; check its permissions."
        raise InputError(msg)
    return file


class Problems:
    """Collect the problems found in one input and report them together.

    Each problem is one line saying where (rows, features, keys), what is wrong and how
    to fix it. `raise_if_any` then raises one `InputError` whose one-line message lists
    the first few problems and counts the rest, so the user can fix everything in one go.

    Parameters
    ----------
    source
        What is being checked, named in the message (a file path or a parameter name);
        it is shown in backticks.
    note
        Optional remark added after the count, such as how rows are numbered.
    max_listed
        How many problems to spell out before "... and K more".

    Examples
    --------
    >>> problems = Problems("shops.csv")
    >>> problems.add("row 3: `lat` is empty; fill it in")
    >>> len(problems)
    1
    >>> problems.raise_if_any()
    Traceback (most recent call last):
    ...
    circle.errors.InputError: `shops.csv` has 1 problem: row 3: `lat` is empty; fill it in.
    """

    def __init__(self, source: str, *, note: str = "", max_listed: int = MAX_LISTED) -> None:
        self.source = source
        self.note = note
        self.max_listed = max_listed
        self._messages: list[str] = []

    def add(self, message: str) -> None:
        """Record one problem (whitespace and newlines are collapsed to keep it one line)."""
        self._messages.append(one_line(message).rstrip("."))

    @property
    def messages(self) -> list[str]:
        """The problems recorded so far, in order."""
        return list(self._messages)

    def __len__(self) -> int:
        return len(self._messages)

    def __bool__(self) -> bool:
        return bool(self._messages)

    def message(self) -> str:
        """Return the one-line summary of every recorded problem ("" if there is none)."""
        count = len(self._messages)
        if count == 0:
            return ""
        noun = "problem" if count == 1 else "problems"
        note = f" ({self.note})" if self.note and count else ""
        listed = "; ".join(self._messages[: self.max_listed])
        rest = count - self.max_listed
        more = f"; ... and {rest} more" if rest > 0 else ""
        return f"`{self.source}` has {count} {noun}{note}: {listed}{more}."

    def raise_if_any(self) -> None:
        """Raise one `InputError` listing the problems, if any were recorded.

        Raises
        ------
        InputError
            If at least one problem was recorded.
        """
        if self._messages:
            raise InputError(self.message())

    def warn_if_any(self, *, stacklevel: int = 2) -> None:
        """Issue one `UserWarning` listing the problems, if any were recorded."""
        if self._messages:
            warnings.warn(self.message(), UserWarning, stacklevel=stacklevel + 1)


def cell_text(value: Any) -> str:
    """A table cell as stripped text (``3.0`` as ``"3"``)."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def is_missing_value(value: Any) -> bool:
    """True for None, pandas NA and NaN."""
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)
