"""Every word circle writes for people, in English and Chinese, read from ``circle/_locales``.

The words live in one TOML file per language (``_locales/en.toml``, ``_locales/zh.toml``),
in sections by where they are used (``report``, ``map``, ``cli``, ...); both files have the
same keys (a test checks it). Computed tables carry stable ids (category ``clinic``,
status ``uncovered``); the presentation layers translate them with the functions here.
"""

from __future__ import annotations

import sys
from functools import cache, lru_cache
from importlib.resources import files
from typing import TYPE_CHECKING, Final, Literal

from circle.categories import CATEGORIES, normalize_category
from circle.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    import pandas as pd

__all__ = [
    "LANGS",
    "OSM_CREDIT",
    "Lang",
    "attribution",
    "category_label",
    "category_labels",
    "check_lang",
    "status_word",
    "term",
    "threshold_text",
    "with_labels",
    "word",
    "words",
]

Lang = Literal["en", "zh"]

#: The OpenStreetMap credit in machine-readable outputs (the GeoJSON ``attribution`` member);
#: :func:`attribution` gives it in words.
OSM_CREDIT: Final = "© OpenStreetMap contributors, ODbL 1.0"

#: The languages circle writes.
LANGS: Final[tuple[Lang, ...]] = ("en", "zh")


@cache
def _locale(lang: Lang) -> dict[str, dict[str, str]]:
    text = files("circle").joinpath("_locales", f"{lang}.toml").read_text(encoding="utf-8")
    data: dict[str, dict[str, str]] = tomllib.loads(text)
    return data


def check_lang(lang: str) -> Lang:
    """Return `lang` if it is ``"en"`` or ``"zh"``.

    Raises
    ------
    InputError
        Any other value.

    Examples
    --------
    >>> check_lang("zh")
    'zh'
    """
    if lang == "en":
        return "en"
    if lang == "zh":
        return "zh"
    msg = f"`lang` must be en or zh, not `{lang}`."
    raise InputError(msg)


def words(section: str, lang: Lang) -> Mapping[str, str]:
    """All words of one section (``"report"``, ``"map"``, ``"cli"``, ...) in `lang`."""
    return _locale(check_lang(lang))[section]


def word(key: str, lang: Lang, **values: object) -> str:
    """The word for ``"section.key"`` in `lang`, with ``{name}`` fields filled from `values`.

    Examples
    --------
    >>> word("term.covered_share", "zh")
    '覆盖率'
    >>> word("map.within", "en", minutes=15)
    'within 15 min'
    """
    section, _, name = key.partition(".")
    text = words(section, lang)[name]
    return text.format(**values) if values else text


def term(key: str, lang: Lang = "en") -> str:
    """A short column heading of the terminal summary (section ``term``).

    Examples
    --------
    >>> term("covered_share", "zh")
    '覆盖率'
    """
    return word(f"term.{key}", lang)


def attribution(lang: Lang = "en") -> str:
    """The OpenStreetMap credit, required wherever OSM-derived data or maps are shown."""
    return word("attribution.text", lang)


def status_word(status: str, lang: Lang = "en") -> str:
    """A neighbourhood status id (``covered, partial, uncovered, empty``) in words."""
    return word(f"status.{status}", lang)


@lru_cache(maxsize=1024)  # reports label every neighbourhood's missing services
def category_label(category: str, lang: Lang = "en") -> str:
    """The human label of a category id or alias; custom categories label as themselves.

    Examples
    --------
    >>> category_label("clinic", "zh")
    '社区卫生服务站'
    >>> category_label("library")
    'library'
    """
    labels = words("category", lang)
    normalized = normalize_category(category)
    return labels[normalized] if normalized in CATEGORIES else normalized


def category_labels(categories: Iterable[str], lang: Lang, *, separator: str = "; ") -> str:
    """Several category labels joined by `separator`."""
    return separator.join(category_label(c, lang) for c in categories)


def threshold_text(minutes: float, metres: float | None, lang: Lang) -> str:
    """A threshold in words: ``15 min``, or ``300 m (4 min walk)`` for a distance (GB 50180).

    Parameters
    ----------
    minutes
        The threshold in walking minutes (shown to 2 decimals, as ``summary.csv`` has it).
    metres
        The walking distance where the threshold is a distance, else ``None`` (shown to
        1 decimal).
    lang
        {"en", "zh"}.

    Examples
    --------
    >>> threshold_text(4, 300, "en")
    '300 m (4 min walk)'
    >>> threshold_text(15, None, "en")
    '15 min'
    """
    shown = f"{round(minutes, 2):g}"
    if metres is not None:
        return word("people.threshold_metres", lang, metres=f"{round(metres, 1):g}", minutes=shown)
    return word("people.threshold_minutes", lang, minutes=shown)


def with_labels(table: pd.DataFrame, lang: Lang, *, after: str = "category") -> pd.DataFrame:
    """A copy of `table` with a ``label`` column (the category in words) after `after`."""
    out = table.copy()
    labels = [category_label(str(c), lang) for c in out["category"]]
    if "label" in out.columns:
        out["label"] = labels
    else:
        position = list(out.columns).index(after) + 1
        out.insert(position, "label", labels)
    return out
