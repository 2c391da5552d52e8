"""How fast and how far people walk: walking profiles, thresholds and the snapping cut-off.

These are the parameters that change results; every layer above reads its defaults here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from circle._options import check_known_categories, parse_key_values
from circle.categories import BUILTIN_ORDER
from circle.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    import numpy as np

__all__ = [
    "ADULT",
    "DEFAULT_MAX_SNAP_M",
    "DEFAULT_MINUTES",
    "ELDERLY",
    "MAX_SNAP_LIMIT_M",
    "PROFILES",
    "STEPS_FACTOR",
    "Threshold",
    "WalkingProfile",
    "check_max_snap_m",
    "parse_profiles",
    "parse_thresholds",
    "walking_profile",
]

#: The 15-minute life circle.
DEFAULT_MINUTES: Final = 15.0
#: Points farther than this from every walkable edge are off-network (metres).
DEFAULT_MAX_SNAP_M: Final = 300.0
#: The largest snapping distance accepted (metres): farther, a "walk" to the network is a
#: guess, not an access leg.
MAX_SNAP_LIMIT_M: Final = 5_000.0

#: Speed on steps as a share of the flat speed, both ways. Weidmann's review of some 150
#: pedestrian studies (U. Weidmann, "Transporttechnik der Fussgänger: transporttechnische
#: Eigenschaften des Fussgängerverkehrs (Literaturauswertung)", Schriftenreihe des IVT Nr. 90,
#: ETH Zürich, 1992; 2nd edition 1993; summarised in "Der Fussgänger im Strassenverkehr:
#: Geschwindigkeit und Leistungsfähigkeit", Der Nahverkehr 11(6), 1993, pp. 53-60) is the
#: usual source of the mean horizontal speed on stairs, 0.610 m/s up and 0.694 m/s down,
#: against 1.34 m/s on the level: ratios 0.46 and 0.52, whose mean rounds to 0.5. (The
#: bibliographic details are checked against the FGSV literature database; the stair speeds
#: are as they are quoted from the report, not read in it.) Evacuation models are
#: slower up the stairs (IES VE's Simulex: 0.35 up, 0.5 down), and stair speeds fall with
#: age and stair gradient (Fujiyama & Tyler, "Predicting the walking speed of pedestrians on
#: stairs", Transportation Planning and Technology 33(2), 2010): pass a lower factor for
#: frail walkers or long flights.
STEPS_FACTOR: Final = 0.5


@dataclass(frozen=True)
class WalkingProfile:
    """A walking speed, named for reports.

    Parameters
    ----------
    name
        Short name shown in reports, e.g. ``"adult"``.
    speed_kmh
        Walking speed in km/h, positive.
    """

    name: str
    speed_kmh: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.speed_kmh) and self.speed_kmh > 0):
            msg = f"walking speed must be a positive number of km/h, got `{self.speed_kmh}`."
            raise InputError(msg)

    @property
    def metres_per_minute(self) -> float:
        """The speed in metres per minute."""
        return self.speed_kmh * 1000.0 / 60.0

    def metres(self, minutes: float) -> float:
        """Distance walked in `minutes`."""
        return minutes * self.metres_per_minute

    def minutes(self, metres: np.ndarray | float) -> np.ndarray:
        """Minutes needed to walk `metres` (array in, array out; ``inf`` stays ``inf``)."""
        import numpy as np  # noqa: PLC0415  (this module stays light for the command line)

        return np.asarray(metres, dtype=float) / self.metres_per_minute


#: Adults: 4.5 km/h (1.25 m/s), the planning speed commonly used for 15-minute-city walking
#: isochrones and close to the ~1.3 m/s mean walking speed of adults in field studies.
ADULT = WalkingProfile("adult", 4.5)
#: Older people: 0.9 m/s (3.24 km/h), the 15th-percentile walking speed of pedestrians over
#: 65 measured at US signalised crossings (Fitzpatrick, Brewer & Turner, "Another look at
#: pedestrian walking speed", Transportation Research Record 1982, 2006; TRB paper 06-1826),
#: the figure behind the MUTCD's slower crossing-time guidance.
ELDERLY = WalkingProfile("elderly", 0.9 * 3.6)
#: The named walking profiles.
PROFILES: Final[dict[str, WalkingProfile]] = {"adult": ADULT, "elderly": ELDERLY}


def walking_profile(name: str | None = None, *, speed_kmh: float | None = None) -> WalkingProfile:
    """Return a named walking profile, or a custom one for `speed_kmh`.

    Parameters
    ----------
    name
        ``{"adult", "elderly"}``, or ``None`` with `speed_kmh`.
    speed_kmh
        A custom speed; wins over `name`'s speed but keeps `name` for reports.

    Returns
    -------
    WalkingProfile

    Examples
    --------
    >>> walking_profile("elderly").speed_kmh
    3.24
    >>> walking_profile(speed_kmh=4.0)
    WalkingProfile(name='custom', speed_kmh=4.0)
    """
    if name is not None and name.lower() not in PROFILES:
        msg = f"unknown walking profile `{name}`; use one of {sorted(PROFILES)} or a speed."
        raise InputError(msg)
    if speed_kmh is not None:
        return WalkingProfile(name or "custom", float(speed_kmh))
    return PROFILES[(name or "adult").lower()]


def parse_profiles(
    text: str | WalkingProfile | None, *, speed_kmh: float | None = None
) -> tuple[WalkingProfile, dict[str, WalkingProfile]]:
    """Read ``--profile``: one profile, or one per category.

    ``"elderly"`` makes everyone walk at the elderly speed; ``"canteen=elderly,daycare=elderly"``
    gives those categories' people the elderly speed and everyone else the adult one;
    ``"elderly,clinic=adult"`` names the default first. `speed_kmh` replaces the default
    profile's speed (not the speed of the categories named).

    Parameters
    ----------
    text
        A profile name, ``category=profile`` pairs, both, a profile, or ``None`` (adult).
    speed_kmh
        A custom speed for the default profile.

    Returns
    -------
    default, per_category
        The profile of categories not named, and the profile of each category named.

    Raises
    ------
    InputError
        An unknown profile name, more than one default, or an unknown category name format.

    Examples
    --------
    >>> default, own = parse_profiles("canteen=elderly,daycare=elderly")
    >>> default.name, sorted((c, p.speed_kmh) for c, p in own.items())
    ('adult', [('canteen', 3.24), ('daycare', 3.24)])
    """
    if isinstance(text, WalkingProfile):
        return text, {}
    if text is None or "=" not in text:
        return walking_profile(text, speed_kmh=speed_kmh), {}
    parsed = parse_key_values(
        text, option="--profile", example="canteen=elderly,daycare=elderly", allow_bare=True
    )
    if len(parsed.bare) > 1:
        msg = (
            f"`--profile {text}` names {len(parsed.bare)} default profiles; give at most one, "
            "then `category=profile` pairs."
        )
        raise InputError(msg)
    default = walking_profile(parsed.bare[0] if parsed.bare else None, speed_kmh=speed_kmh)
    own = {}
    for category, name in parsed.pairs.items():
        try:
            own[category] = walking_profile(name)
        except InputError as exc:
            msg = f"`--profile {text}`, category `{category}`: {exc}"
            raise InputError(msg) from None
    return default, own


def check_max_snap_m(max_snap_m: float) -> float:
    """Return `max_snap_m` if it is a positive number of metres up to `MAX_SNAP_LIMIT_M`.

    Raises
    ------
    InputError
        Otherwise.
    """
    if not (math.isfinite(max_snap_m) and max_snap_m > 0):
        msg = f"`max_snap_m` must be a positive number of metres, got `{max_snap_m}`."
        raise InputError(msg)
    if max_snap_m > MAX_SNAP_LIMIT_M:
        msg = (
            f"`max_snap_m` is {max_snap_m:g} m, more than {MAX_SNAP_LIMIT_M:,.0f} m: nobody walks "
            "that far to reach a path; use a few hundred metres (default "
            f"{DEFAULT_MAX_SNAP_M:g})."
        )
        raise InputError(msg)
    return float(max_snap_m)


@dataclass(frozen=True)
class Threshold:
    """How far a category's service may be: a walking time or a walking distance.

    Exactly one of `minutes` and `metres` is set. A distance is measured along the network
    (plus access legs), whatever the walking speed.

    Parameters
    ----------
    minutes
        Walking minutes at the profile's speed.
    metres
        Walking metres along the network.
    """

    minutes: float | None = None
    metres: float | None = None

    def __post_init__(self) -> None:
        values = [x for x in (self.minutes, self.metres) if x is not None]
        if len(values) != 1:
            msg = "a threshold needs exactly one of `minutes` and `metres`."
            raise InputError(msg)
        value = values[0]
        if not (math.isfinite(value) and value > 0):
            msg = f"a threshold must be a positive number, got `{value}`."
            raise InputError(msg)

    def budget_m(self, profile: WalkingProfile) -> float:
        """The walking distance (metres) this threshold allows at `profile`'s speed."""
        if self.metres is not None:
            return float(self.metres)
        assert self.minutes is not None
        return profile.metres(self.minutes)

    def minutes_at(self, profile: WalkingProfile) -> float:
        """The threshold as walking minutes at `profile`'s speed."""
        if self.minutes is not None:
            return float(self.minutes)
        assert self.metres is not None
        return self.metres / profile.metres_per_minute

    def __str__(self) -> str:
        if self.minutes is not None:
            return f"{self.minutes:g} min"
        return f"{self.metres:g} m"


def parse_thresholds(
    text: str | float | Mapping[str, float | Threshold] | None,
    *,
    categories: Iterable[str] = BUILTIN_ORDER,
    option: str = "--minutes",
    base: Mapping[str, Threshold] | None = None,
) -> dict[str, Threshold]:
    """Read walking-time thresholds: one number for every category, or per category.

    Parameters
    ----------
    text
        ``"15"`` (every category), ``"clinic=15,daycare=10"`` (those categories; the others
        keep :data:`DEFAULT_MINUTES`), a number, a mapping, or ``None`` for the default.
    categories
        The categories that exist (built-ins and those in the facilities file).
    option
        The option name used in error messages.
    base
        Thresholds of categories that `text` does not name (e.g. from a preset); others
        get :data:`DEFAULT_MINUTES`.

    Returns
    -------
    dict
        A :class:`Threshold` for every category in `categories`.

    Raises
    ------
    InputError
        A value is not a positive number, or a category is unknown.

    Examples
    --------
    >>> t = parse_thresholds("clinic=10", categories=["clinic", "canteen"])
    >>> t["clinic"].minutes, t["canteen"].minutes
    (10.0, 15.0)
    """
    known = list(dict.fromkeys(categories))
    result = {c: (base or {}).get(c, Threshold(minutes=DEFAULT_MINUTES)) for c in known}
    if text is None:
        return result
    if isinstance(text, (int, float)):
        return {c: Threshold(minutes=_positive(str(text), option)) for c in known}
    if not isinstance(text, str):
        check_known_categories(text, known, option=option)
        for name, given in text.items():
            result[name] = (
                given
                if isinstance(given, Threshold)
                else Threshold(minutes=_positive(str(given), option))
            )
        return result
    parsed = parse_key_values(text, option=option, example="clinic=15,daycare=10", allow_bare=True)
    if parsed.bare and parsed.pairs:
        msg = f"`{option} {text}`: `{parsed.bare[0]}` is not `category=minutes`, e.g. `clinic=15`."
        raise InputError(msg)
    if parsed.bare:
        if len(parsed.bare) > 1:
            msg = f"`{option} {text}`: give one number for every category, or per category."
            raise InputError(msg)
        minutes = _positive(parsed.bare[0], option)
        return {c: Threshold(minutes=minutes) for c in known}
    check_known_categories(parsed.pairs, known, option=option)
    for category, value in parsed.pairs.items():
        result[category] = Threshold(minutes=_positive(value, f"{option} {category}"))
    return result


def _positive(value: str, option: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        msg = f"`{option}` must be a positive number of minutes, got `{value}`."
        raise InputError(msg)
    return number
