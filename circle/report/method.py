"""The method of a report in words: inputs, walking, thresholds, capacity, software."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from circle.capacity import E2SFCA_BANDS, DecayBands
from circle.coverage import HORIZON_FACTOR
from circle.i18n import attribution, category_label, category_labels, words
from circle.report.tables import COORDINATE_SYSTEM_NAMES
from circle.report.tables import report_word as _word

if TYPE_CHECKING:
    from collections.abc import Sequence

    from circle.capacity import CapacityResult
    from circle.coverage import CoverageResult
    from circle.i18n import Lang
    from circle.report.tables import ReportTables
    from circle.terrain import DirectedCosts
    from circle.walking import Threshold, WalkingProfile

__all__ = ["capacity_unit", "circle_version", "coords_row", "method_rows", "terrain_row"]


def _threshold_words(threshold: Threshold, minutes: float, lang: Lang) -> str:
    if threshold.metres is not None:
        return (
            f"{threshold.metres:g} {_word('m_metres_unit', lang)} "
            f"(≈ {minutes:.1f} {_word('m_minutes_unit', lang)})"
        )
    return f"{minutes:g} {_word('m_minutes_unit', lang)}"


def method_rows(
    result: CoverageResult, tables: ReportTables, lang: Lang, inputs: dict[str, str]
) -> list[tuple[str, str]]:
    """(item, value) pairs describing the inputs and the method, for Excel and Markdown."""
    model = result.model
    unknown = _word("not_recorded", lang)
    on_network = model.facilities["on_network"].to_numpy(bool)
    rows = [
        (_word("m_network", lang), inputs.get("network") or unknown),
        (
            _word("m_facilities", lang),
            (inputs.get("facilities") or unknown)
            + _word(
                "m_facility_counts",
                lang,
                used=int(on_network.sum()),
                off=int((~on_network).sum()),
            ),
        ),
    ]
    if inputs.get("preset"):
        rows.append((_word("m_preset", lang), inputs["preset"]))
    population = tables.neighbourhoods["population"].to_numpy(float)
    rows.append(
        (
            _word("m_areas", lang),
            (inputs.get("areas") or result.area_kind or unknown)
            + _word(
                "m_area_counts",
                lang,
                count=len(population),
                inhabited=int((population > 0).sum()),
            ),
        )
    )
    separator = _word("separator", lang)
    people = result.people.describe(lang) or inputs.get("population") or unknown
    if result.people.proxy:
        people += separator + _word("m_proxy", lang)
    groups = [c for c in result.categories if c in result.people.by_category]
    if groups:
        labels = category_labels(groups, lang, separator=_word("list_separator", lang))
        people += separator + _word("m_groups", lang, labels=labels)
    rows.append((_word("m_population", lang), people))

    def walking(profile: WalkingProfile) -> str:
        return _word(
            "m_profile_value",
            lang,
            name=words("report", lang).get(f"profile_{profile.name}", profile.name),
            speed=f"{profile.speed_kmh:g}",
            per_minute=f"{profile.metres_per_minute:.0f}",
        )

    walks = walking(model.profile)
    own = [c for c in tables.summary["category"] if c in model.category_profiles]
    if own:
        walks += separator + separator.join(
            category_label(c, lang) + _word("colon", lang) + walking(model.profile_for(c))
            for c in own
        )
    rows.append((_word("m_profile", lang), walks))
    thresholds = separator.join(
        category_label(c, lang)
        + _word("colon", lang)
        + _threshold_words(model.thresholds[c], model.threshold_minutes(c), lang)
        for c in tables.summary["category"]
    )
    cutoffs = result.cutoffs
    rows += [
        (_word("m_thresholds", lang), thresholds),
        (_word("m_routing", lang), _word("m_routing_value", lang)),
        (
            _word("m_off_network", lang),
            _word("m_off_network_value", lang, metres=f"{model.max_snap_m:g}"),
        ),
        (
            _word("m_statuses", lang),
            _word(
                "m_statuses_value",
                lang,
                covered=f"{cutoffs.covered:.0%}",
                uncovered=f"{cutoffs.uncovered:.0%}",
            ),
        ),
        (
            _word("m_walking_minutes", lang),
            _word("m_walking_minutes_value", lang, factor=f"{HORIZON_FACTOR:g}"),
        ),
    ]
    if model.terrain is not None or model.step_free:
        stepless = [c for c in model.categories if c in model.step_free]
        rows.append(
            terrain_row(model.terrain, lang, step_free=stepless, categories=model.categories)
        )
    if tables.capacity is not None:
        rows += _capacity_method_rows(result, tables.capacity, tables, lang)
    if tables.coords in COORDINATE_SYSTEM_NAMES:
        rows.append(coords_row(tables.coords, lang))
    rows += [
        (_word("m_software", lang), f"circle {circle_version()}"),
        (_word("m_attribution", lang), attribution(lang)),
    ]
    return rows


def terrain_row(
    terrain: DirectedCosts | None,
    lang: Lang,
    *,
    step_free: Sequence[str] = (),
    categories: Sequence[str] = (),
) -> tuple[str, str]:
    """The method row of slope-aware walking and steps: the DEM, Tobler, the steps rule.

    Parameters
    ----------
    terrain
        The directed costs (``None``: flat ground, steps walked like any way).
    lang
        {"en", "zh"}.
    step_free
        The categories searched on step-free routes.
    categories
        All categories evaluated (to say "every category" when all are step-free).
    """
    if terrain is None or terrain.dem is None:
        ground = _word("m_terrain_flat", lang)
    else:
        ground = _word(
            "m_terrain_dem",
            lang,
            dem=terrain.dem.description,
            nodata=f"{terrain.nodata_nodes:,}",
            structures=f"{terrain.structure_edges:,}",
        )
    parts = [ground]
    every = (terrain is not None and terrain.step_free) or (
        bool(step_free) and set(categories) <= set(step_free)
    )
    if every:
        parts.append(_word("m_step_free", lang))
    else:
        parts.append(
            _word("m_steps_as_ways", lang)
            if terrain is None
            else _word("m_steps_factor", lang, factor=f"{terrain.steps_factor:g}")
        )
        if step_free:
            labels = category_labels(step_free, lang, separator=_word("list_separator", lang))
            parts.append(_word("m_step_free_for", lang, labels=labels))
    return (_word("m_terrain", lang), _word("separator", lang).join(parts))


def coords_row(coords: str, lang: Lang) -> tuple[str, str]:
    """The method row saying that the layers are in GCJ-02 or BD-09, and for which tools."""
    return (
        _word("m_coords", lang),
        _word(
            "m_coords_value",
            lang,
            name=COORDINATE_SYSTEM_NAMES[coords],
            tools=_word(f"tools_{coords}", lang),
        ),
    )


def capacity_unit(capacity: CapacityResult, category: str, lang: Lang) -> str:
    """The unit of capacity of `category`; the default ``places`` in `lang`."""
    unit = capacity.units.get(category) or "places"
    return _word("unit_places", lang) if unit == "places" else unit


def _bands_words(bands: DecayBands) -> str:
    """Decay bands as ``≤ 33%: 1.00, ≤ 67%: 0.68, ≤ 100%: 0.22``."""
    return ", ".join(
        f"≤ {upper:.0%}: {weight:.2f}"
        for upper, weight in zip(bands.upper, bands.weights, strict=True)
    )


def _capacity_method_rows(
    result: CoverageResult, capacity: CapacityResult, tables: ReportTables, lang: Lang
) -> list[tuple[str, str]]:
    """Method, units, targets and facilities without a capacity, per category."""
    separator = _word("separator", lang)
    colon = _word("colon", lang)
    if capacity.method == "e2sfca":
        # CapacityResult does not record custom bands; a `bands` attribute wins if present.
        bands = getattr(capacity, "bands", None)
        bands = bands if isinstance(bands, DecayBands) else E2SFCA_BANDS
        method = _word("m_e2sfca", lang, bands=_bands_words(bands))
    else:
        method = _word("m_2sfca", lang)
    with_capacity = tables.capacity_categories
    units = separator.join(
        category_label(c, lang) + colon + capacity_unit(capacity, c, lang) for c in with_capacity
    )
    targets = separator.join(
        category_label(c, lang)
        + colon
        + _word(
            "m_target_value",
            lang,
            target=f"{capacity.targets[c]:g}",
            unit=capacity_unit(capacity, c, lang),
        )
        for c in result.categories
        if c in capacity.targets
    )
    used = dict(zip(tables.summary["category"], tables.summary["facilities"], strict=True))
    counts = []
    for category in result.categories:
        total = int(used.get(category, 0))
        missing = int(capacity.missing_capacity.get(category, total))
        if total == 0:
            words = _word("m_capacity_no_facility", lang)
        elif category not in with_capacity:
            words = _word("m_capacity_none", lang)
        elif missing == 0:
            words = _word("m_capacity_all", lang, total=total)
        else:
            words = _word("m_capacity_some", lang, missing=missing, total=total)
        counts.append(category_label(category, lang) + colon + words)
    rows = [(_word("m_capacity", lang), method)]
    if units:
        rows.append((_word("m_capacity_units", lang), units))
    rows += [
        (_word("m_targets", lang), targets or _word("m_no_targets", lang)),
        (_word("m_capacities", lang), separator.join(counts)),
    ]
    return rows


def circle_version() -> str:
    """The installed version of circle, for the Method sheet and ``report.md``."""
    try:
        return version("circle")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"
