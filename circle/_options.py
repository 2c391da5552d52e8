"""The one reader of ``key=value,...`` options: ``--minutes``, ``--target``, ``--capacity-unit``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from circle.categories import normalize_category
from circle.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["KeyValues", "check_known_categories", "parse_key_values"]


@dataclass(frozen=True)
class KeyValues:
    """A parsed ``key=value,...`` option.

    Attributes
    ----------
    pairs
        ``key -> value`` in the order given (keys are category ids when the keys are
        categories).
    bare
        Values given without a key (``"15"`` in ``--minutes 15``), in order.
    """

    pairs: dict[str, str] = field(default_factory=dict)
    bare: list[str] = field(default_factory=list)


def parse_key_values(
    text: str,
    *,
    option: str,
    example: str,
    categories: bool = True,
    allow_bare: bool = False,
) -> KeyValues:
    """Read ``"a=1,b=2"`` (and, where allowed, bare values such as ``"15"``).

    Parameters
    ----------
    text
        The option's text.
    option
        The option's name for messages (``"--minutes"``).
    example
        A valid example for messages (``"clinic=15,daycare=10"``).
    categories
        Keys are categories: ids or aliases, normalised to ids.
    allow_bare
        Accept items without ``=``.

    Returns
    -------
    KeyValues

    Raises
    ------
    InputError
        An item with an empty key or value, a bare item where none is allowed, or the
        same key twice.

    Examples
    --------
    >>> parse_key_values("诊所=10, daycare = 5", option="--minutes", example="clinic=15").pairs
    {'clinic': '10', 'daycare': '5'}
    >>> parse_key_values("pop,canteen=p65", option="--population-field", example="pop",
    ...                  allow_bare=True).bare
    ['pop']
    """
    result = KeyValues()
    for raw in text.split(","):
        part = raw.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep:
            if not allow_bare:
                msg = f"`{option} {text}`: `{part}` is not `key=value`; e.g. `{option} {example}`."
                raise InputError(msg)
            result.bare.append(part)
            continue
        if not key or not value:
            msg = f"`{option} {text}`: `{part}` is not `key=value`; e.g. `{option} {example}`."
            raise InputError(msg)
        if categories:
            key = normalize_category(key)
        if key in result.pairs:
            msg = f"`{option} {text}` gives `{key}` twice; give each once."
            raise InputError(msg)
        result.pairs[key] = value
    return result


def check_known_categories(names: Iterable[str], known: Iterable[str], *, option: str) -> None:
    """Refuse a category that the run does not know, listing the known ones.

    Raises
    ------
    InputError
        A name not in `known`.
    """
    known_list = list(dict.fromkeys(known))
    for name in names:
        if name not in known_list:
            msg = (
                f"`{option}` names an unknown category `{name}`; "
                f"known categories: {', '.join(known_list)}."
            )
            raise InputError(msg)
