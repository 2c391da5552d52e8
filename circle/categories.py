"""Service categories: stable ids, report order and the spellings accepted in input files.

Their labels in words live with every other word in :mod:`circle.i18n`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from circle.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "BUILTIN_ORDER",
    "CATEGORIES",
    "Category",
    "category_order_key",
    "choose_categories",
    "evaluated_categories",
    "normalize_category",
]


@dataclass(frozen=True)
class Category:
    """A built-in service category.

    Parameters
    ----------
    id
        Stable machine id used in files and reports (``"clinic"``).
    aliases
        Other spellings accepted in the category column of a facilities file. Matching
        ignores case, surrounding whitespace, and treats ``_``, ``-`` and spaces alike.
    """

    id: str
    aliases: tuple[str, ...] = ()


BUILTIN_ORDER: Final[tuple[str, ...]] = ("canteen", "clinic", "daycare", "gig_station")
"""Built-in category ids in the order reports list them."""

CATEGORIES: Final[dict[str, Category]] = {
    "canteen": Category(
        id="canteen",
        aliases=(
            "elderly / community canteen",
            "长者食堂",
            "老年食堂",
            "社区食堂",
            "elderly canteen",
            "community canteen",
            "senior canteen",
        ),
    ),
    "clinic": Category(
        id="clinic",
        aliases=(
            "clinic / community health station",
            "社区卫生服务站",
            "社区卫生服务中心",
            "卫生院",
            "诊所",
            "health station",
            "community health station",
            "community health centre",
            "community health center",
        ),
    ),
    "daycare": Category(
        id="daycare",
        aliases=(
            "childcare and elderly day care",
            "托育与日间照料",
            "托育机构",
            "托儿所",
            "日间照料中心",
            "childcare",
            "child care",
            "day care",
            "elderly day care",
        ),
    ),
    "gig_station": Category(
        id="gig_station",
        aliases=(
            "gig-worker job station",
            "零工驿站",
            "零工市场",
            "job station",
            "gig station",
            "gig worker job station",
        ),
    ),
}
"""The built-in categories by id, in `BUILTIN_ORDER`."""

_SEPARATORS = re.compile(r"[\s_\-]+")


def _lookup_key(value: str) -> str:
    return _SEPARATORS.sub(" ", value).strip().casefold()


_ALIAS_TO_ID: Final[dict[str, str]] = {
    _lookup_key(name): category.id
    for category in CATEGORIES.values()
    for name in (category.id, *category.aliases)
}


def normalize_category(value: str) -> str:
    """Return the category id for a value from a category column.

    A built-in id, label or alias (any case; ``_``, ``-`` and spaces alike) gives the
    built-in id. Any other non-empty value is a custom category and is returned as-is
    after stripping surrounding whitespace.

    Parameters
    ----------
    value
        The text found in the file, such as ``"诊所"`` or ``" Clinic "``.

    Returns
    -------
    str
        The canonical id (``"clinic"``) or the stripped custom value.

    Raises
    ------
    InputError
        If `value` is empty or only whitespace.

    Examples
    --------
    >>> normalize_category("社区卫生服务站")
    'clinic'
    >>> normalize_category(" Gig-Station ")
    'gig_station'
    >>> normalize_category("library")
    'library'
    """
    stripped = value.strip()
    if not stripped:
        msg = (
            "A category is empty; use one of canteen, clinic, daycare, gig_station "
            "(or 长者食堂, 诊所, 托育机构, 零工驿站, ...) or any custom name."
        )
        raise InputError(msg)
    return _ALIAS_TO_ID.get(_lookup_key(stripped), stripped)


def category_order_key(category: str) -> tuple[int, str]:
    """Sort key putting the built-in categories first (in :data:`BUILTIN_ORDER`), then the rest.

    Examples
    --------
    >>> sorted(["park", "clinic", "canteen"], key=category_order_key)
    ['canteen', 'clinic', 'park']
    """
    if category in BUILTIN_ORDER:
        return (BUILTIN_ORDER.index(category), "")
    return (len(BUILTIN_ORDER), category)


def evaluated_categories(values: Iterable[str]) -> list[str]:
    """The categories a run evaluates: the built-ins, then the custom ones in `values`.

    Examples
    --------
    >>> evaluated_categories(["park", "clinic"])
    ['canteen', 'clinic', 'daycare', 'gig_station', 'park']
    """
    return sorted(set(BUILTIN_ORDER) | set(values), key=category_order_key)


def choose_categories(categories: Iterable[str], known: list[str]) -> list[str]:
    """The categories a planner asked for, as ids, in the order given.

    Raises
    ------
    InputError
        A category not in `known` (the message lists them), or none at all.

    Examples
    --------
    >>> choose_categories(["诊所", "clinic", "canteen"], ["canteen", "clinic"])
    ['clinic', 'canteen']
    """
    chosen = list(dict.fromkeys(normalize_category(str(c)) for c in categories))
    unknown = [c for c in chosen if c not in known]
    if unknown:
        msg = (
            f"`categories` names an unknown category `{unknown[0]}`; known categories "
            f"(built-in, and custom ones in the facilities): {', '.join(known)}."
        )
        raise InputError(msg)
    if not chosen:
        msg = "`categories` names no category; give at least one, e.g. `clinic`."
        raise InputError(msg)
    return chosen
