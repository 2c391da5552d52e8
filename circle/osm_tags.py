"""Facilities from OpenStreetMap: the documented tag rules per category, and their extraction."""

from __future__ import annotations

import json
import logging
import math
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import pyrosm
import shapely

from circle._validate import (
    Problems,
    cell_text,
    check_readable_file,
    is_missing_value,
    one_line,
)
from circle.categories import category_order_key, normalize_category
from circle.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

if TYPE_CHECKING:
    import os

__all__ = [
    "OSM_TAG_MAPPING",
    "TagMapping",
    "TagRule",
    "facilities_from_osm",
    "load_tag_mapping",
    "validate_tag_mapping",
]

logger = logging.getLogger(__name__)

TagRule: TypeAlias = Mapping[str, Sequence[str]]
"""One OSM tag rule: every key must match one of its values (AND across keys).

Value patterns: ``"clinic"`` matches exactly (each part of a ``;``-separated OSM value is
tried); ``"*"`` matches any value except ``"no"``; ``"~text"`` matches values containing
``text``; ``"!value"`` forbids a value (a key with only ``!`` patterns also holds when the
tag is absent). A rule needs at least one key with a required (non-``!``) value.
"""

TagMapping: TypeAlias = Mapping[str, Sequence[TagRule]]
"""Category id -> rules; a feature belongs to the category when any rule matches (OR)."""

_FOOD_OR_SOCIAL_AMENITIES: Final = (
    "restaurant",
    "fast_food",
    "canteen",
    "food_court",
    "social_facility",
    "community_centre",
)

OSM_TAG_MAPPING: Final[TagMapping] = {
    # Elderly / community canteens (长者食堂). OSM has no dedicated tag, so:
    # - amenity=canteen: a place serving meals to a limited group; workplace and school
    #   canteens closed to the public (access=private/no) are left out.
    # - amenity=social_facility + social_facility=soup_kitchen: free or cheap community meals.
    # - amenity=community_centre + community_centre:for=senior|elderly: senior centres, which
    #   commonly run the meal service; review them locally.
    # - food or social amenities whose name says 长者食堂/老年食堂/社区食堂/长者饭堂/老人食堂,
    #   which is how mappers in China usually record them.
    # Not included: nursing homes and other residential social facilities for seniors (they
    # feed residents, not the neighbourhood) and amenity=social_centre (a place to socialise,
    # not to eat).
    "canteen": (
        {"amenity": ("canteen",), "access": ("!private", "!no")},
        {"amenity": ("social_facility",), "social_facility": ("soup_kitchen",)},
        {"amenity": ("community_centre",), "community_centre:for": ("senior", "elderly")},
        {
            "amenity": _FOOD_OR_SOCIAL_AMENITIES,
            "name": ("~长者食堂", "~老年食堂", "~社区食堂", "~长者饭堂", "~老人食堂"),
        },
    ),
    # Clinics / community health stations (社区卫生服务站): places to see a doctor.
    # Hospitals count (they run outpatient clinics open to walk-in patients). Dentists,
    # pharmacies, alternative medicine, blood donation, laboratories and therapists do not:
    # the 15-minute standard asks for primary care; map those as custom categories if needed.
    "clinic": (
        {"amenity": ("clinic", "doctors", "hospital")},
        {"healthcare": ("clinic", "doctor", "centre", "hospital")},
    ),
    # Childcare and elderly day care (托育机构, 日间照料中心). OSM uses amenity=kindergarten for
    # nursery schools and many day nurseries; drop it in your own mapping if 幼儿园 must not
    # count. social_facility=day_care covers day care for children and for seniors.
    "daycare": (
        {"amenity": ("childcare", "kindergarten")},
        {"social_facility": ("day_care",)},
        {
            "amenity": ("social_facility", "community_centre"),
            "name": ("~托育", "~托儿所", "~日间照料"),
        },
    ),
    # Gig-worker job stations (零工驿站, 零工市场). office=employment_agency is the OSM tag for
    # job agencies, public or private; public employment offices mapped as government offices
    # carry office=government + government=employment|employment_agency. There is no
    # documented amenity=job_centre, so it is not used. Chinese stations are matched by name.
    "gig_station": (
        {"office": ("employment_agency",)},
        {"office": ("government",), "government": ("employment", "employment_agency")},
        {"office": ("*",), "name": ("~零工驿站", "~零工市场", "~零工之家")},
        {"amenity": ("*",), "name": ("~零工驿站", "~零工市场", "~零工之家")},
    ),
}
"""Default OSM tag rules per built-in category, used by `facilities_from_osm`.

Edit a copy, or write your own as JSON or TOML and read it with `load_tag_mapping`; see
`TagRule` for the value patterns.
"""

# pyrosm columns that are not OSM tags
_PYROSM_STRUCTURAL: Final = frozenset(
    {"id", "lon", "lat", "tags", "visible", "version", "timestamp", "changeset", "geometry"}
    | {"osm_type", "nodes", "members", "changeset_id", "uid", "user"}
)


# --------------------------------------------------------------------------------------
# OSM tag mappings


def validate_tag_mapping(mapping: Any, *, source: str = "tag_mapping") -> TagMapping:
    """Check a tag mapping and return it with canonical category ids and tuple values.

    Parameters
    ----------
    mapping
        Category -> list of rules; each rule maps OSM keys to a value pattern or a list of
        them (see `TagRule`). A single rule may be given without the list. Categories may
        be ids, aliases (``"诊所"``) or custom names.
    source
        Name of the input for messages (a file path or parameter name).

    Returns
    -------
    TagMapping
        ``{category_id: (rule, ...)}`` with each rule ``{key: (pattern, ...)}``.

    Raises
    ------
    InputError
        Listing every problem: not a table, no categories, empty rules, keys or values
        that are not non-empty text, rules that only forbid values, or two names for the
        same category.
    """
    problems = Problems(source)
    if not isinstance(mapping, Mapping) or not mapping:
        msg = (
            f"`{source}` must map category names to tag rules, e.g. "
            '{"clinic": [{"amenity": ["clinic", "doctors"]}]}.'
        )
        raise InputError(msg)
    result: dict[str, tuple[dict[str, tuple[str, ...]], ...]] = {}
    seen: dict[str, str] = {}
    for raw_category, raw_rules in mapping.items():
        if not isinstance(raw_category, str) or not raw_category.strip():
            problems.add(f"category {raw_category!r} is not a name; use e.g. `clinic`")
            continue
        category = normalize_category(raw_category)
        if category in seen:
            problems.add(
                f"categories `{seen[category]}` and `{raw_category}` both mean `{category}`; "
                "merge their rules"
            )
            continue
        seen[category] = raw_category
        rules_list = [raw_rules] if isinstance(raw_rules, Mapping) else raw_rules
        if isinstance(rules_list, str) or not isinstance(rules_list, Sequence) or not rules_list:
            problems.add(f"category `{raw_category}` needs a list of one or more rules")
            continue
        rules = []
        for number, raw_rule in enumerate(rules_list, start=1):
            rule = _validate_rule(raw_rule, problems, where=f"`{raw_category}` rule {number}")
            if rule is not None:
                rules.append(rule)
        result[category] = tuple(rules)
    problems.raise_if_any()
    return result


def _validate_rule(
    raw_rule: Any, problems: Problems, *, where: str
) -> dict[str, tuple[str, ...]] | None:
    if not isinstance(raw_rule, Mapping) or not raw_rule:
        problems.add(
            f'{where} must be a table of OSM keys and values, e.g. {{"amenity": "clinic"}}'
        )
        return None
    rule: dict[str, tuple[str, ...]] = {}
    ok = True
    for key, raw_values in raw_rule.items():
        values = [raw_values] if isinstance(raw_values, str) else raw_values
        if not isinstance(key, str) or not key.strip():
            problems.add(f"{where} has an empty key")
            ok = False
        elif (
            not isinstance(values, Sequence)
            or not values
            or not all(isinstance(value, str) and value.strip() for value in values)
        ):
            problems.add(
                f"{where}, key `{key}`: values must be a text or a list of texts "
                '(e.g. "clinic", "*" or ["clinic", "doctors"])'
            )
            ok = False
        else:
            rule[key.strip()] = tuple(value.strip() for value in values)
    if ok and not any(_required_patterns(values) for values in rule.values()):
        problems.add(f"{where} only forbids values (`!`); add a key with a required value")
        ok = False
    return rule if ok else None


def load_tag_mapping(path: str | os.PathLike[str]) -> TagMapping:
    """Read OSM tag rules per category from a JSON or TOML file.

    The file maps each category to a list of rules (see `TagRule`). In TOML::

        [[clinic]]
        amenity = ["clinic", "doctors", "hospital"]

        [[clinic]]
        healthcare = ["clinic", "doctor"]

    (quote category names that are not plain ASCII words: ``[["诊所"]]``), and the same
    in JSON: ``{"clinic": [{"amenity": ["clinic", "doctors", "hospital"]},
    {"healthcare": ["clinic", "doctor"]}]}``.

    Parameters
    ----------
    path
        A ``.json`` or ``.toml`` file.

    Returns
    -------
    TagMapping
        The validated mapping, ready for `facilities_from_osm`.

    Raises
    ------
    InputError
        If the file is missing, not JSON/TOML, cannot be parsed, or a rule is malformed.
    """
    file = check_readable_file(path, what="tag mapping file")
    suffix = file.suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(file.read_text(encoding="utf-8-sig"))
        elif suffix == ".toml":
            data = tomllib.loads(file.read_text(encoding="utf-8-sig"))
        else:
            msg = f"Cannot read the tag mapping `{file}`: use a .json or .toml file."
            raise InputError(msg)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        msg = f"Cannot parse the tag mapping `{file}`: {one_line(str(error))}."
        raise InputError(msg) from None
    return validate_tag_mapping(data, source=str(file))


def _required_patterns(patterns: Sequence[str]) -> list[str]:
    return [pattern for pattern in patterns if not pattern.startswith("!")]


def _condition_holds(value: str | None, patterns: Sequence[str]) -> bool:
    """Whether an OSM tag value (None when absent) satisfies a key's patterns."""
    parts = [part.strip() for part in value.split(";")] if value else []
    forbidden = {pattern[1:] for pattern in patterns if pattern.startswith("!")}
    if forbidden.intersection(parts):
        return False
    required = _required_patterns(patterns)
    if not required:
        return True
    if value is None:
        return False
    for pattern in required:
        if pattern == "*":
            if value != "no":
                return True
        elif pattern.startswith("~"):
            if pattern[1:] and pattern[1:].casefold() in value.casefold():
                return True
        elif pattern in parts:
            return True
    return False


def _rule_matches(tags: Mapping[str, str], rule: TagRule) -> bool:
    return all(_condition_holds(tags.get(key), patterns) for key, patterns in rule.items())


# --------------------------------------------------------------------------------------
# Facilities from OpenStreetMap


def facilities_from_osm(
    pbf_path: str | os.PathLike[str], *, tag_mapping: TagMapping = OSM_TAG_MAPPING
) -> gpd.GeoDataFrame:
    """Extract facilities from an OpenStreetMap ``.osm.pbf`` file with tag rules.

    Nodes, ways and relations are read with pyrosm. A feature belongs to a category when
    any of the category's rules matches its tags. Ways and relations become a point inside
    them (shapely ``point_on_surface``). The name is OSM ``name``, else ``name:zh``, else
    ``name:en``, else ``""``; capacity is a numeric ``capacity`` tag (other values are
    ignored).

    Parameters
    ----------
    pbf_path
        An OpenStreetMap PBF extract.
    tag_mapping
        Category -> tag rules; defaults to `OSM_TAG_MAPPING`. See `load_tag_mapping`.

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of `read_facilities` plus ``osm_id`` (``"node/123"``), in EPSG:4326,
        sorted by category then id. Ids look like ``"osm-node-123"``; a feature matching
        several categories appears once per category with the category appended to its
        id (``"osm-node-123-clinic"``).

    Raises
    ------
    InputError
        If the file is missing or is not a readable PBF, or `tag_mapping` is malformed.
    """
    file = check_readable_file(pbf_path, what="OSM PBF file")
    mapping = validate_tag_mapping(tag_mapping)
    pois = _read_pois(file, mapping)
    if pois is None or len(pois) == 0:
        logger.info("No OSM features in %s carry the keys of the tag mapping", file)
        return _empty_osm_facilities()

    tags = [_feature_tags(row) for row in pois.to_dict("records")]
    order = sorted(mapping, key=category_order_key)
    matches = [
        [category for category in order if any(_rule_matches(t, r) for r in mapping[category])]
        for t in tags
    ]
    positions = [position for position, found in enumerate(matches) for _ in found]
    if not positions:
        logger.info("No OSM features in %s match the tag mapping", file)
        return _empty_osm_facilities()

    osm_types = pois["osm_type"].astype(str).to_numpy()
    osm_numbers = pois["id"].astype("int64").to_numpy()
    records: dict[str, list[Any]] = {
        "id": [],
        "name": [],
        "category": [],
        "capacity": [],
        "osm_id": [],
    }
    for position, found in enumerate(matches):
        if not found:
            continue
        base = f"osm-{osm_types[position]}-{osm_numbers[position]}"
        osm_id = f"{osm_types[position]}/{osm_numbers[position]}"
        name = _feature_name(tags[position])
        capacity = _feature_capacity(tags[position], osm_id)
        for category in found:
            records["id"].append(f"{base}-{category}" if len(found) > 1 else base)
            records["name"].append(name)
            records["category"].append(category)
            records["capacity"].append(capacity)
            records["osm_id"].append(osm_id)
    geometry = pois.geometry.to_numpy()[positions]
    points = shapely.point_on_surface(geometry)
    result = gpd.GeoDataFrame(
        {
            "id": pd.Series(records["id"], dtype=object),
            "name": pd.Series(records["name"], dtype=object),
            "category": pd.Series(records["category"], dtype=object),
            "capacity": pd.Series(records["capacity"], dtype="float64"),
            "osm_id": pd.Series(records["osm_id"], dtype=object),
        },
        geometry=shapely.points(shapely.get_x(points), shapely.get_y(points)),
        crs=pois.crs or "EPSG:4326",
    ).to_crs("EPSG:4326")
    result = result.drop_duplicates(subset=["id"])
    result = result.sort_values(["category", "id"], kind="mergesort").reset_index(drop=True)
    logger.info(
        "Found %d facilities in %s: %s",
        len(result),
        file,
        ", ".join(f"{k} {v}" for k, v in result["category"].value_counts(sort=False).items()),
    )
    return result


def _read_pois(file: Path, mapping: TagMapping) -> gpd.GeoDataFrame | None:
    keys = sorted(
        {
            next(key for key, patterns in rule.items() if _required_patterns(patterns))
            for rules in mapping.values()
            for rule in rules
        }
    )
    custom_filter = {key: True for key in keys}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            osm = pyrosm.OSM(str(file))
            pois = osm.get_pois(custom_filter=custom_filter)
    except Exception as error:  # noqa: BLE001  (pyrosm raises many kinds, protobuf DecodeError too)
        msg = (
            f"Cannot read `{file}` as an OpenStreetMap PBF file: {one_line(str(error))}; "
            "download a fresh .osm.pbf extract."
        )
        raise InputError(msg) from None
    for warning in caught:
        logger.debug("pyrosm: %s", one_line(str(warning.message)))
    if pois is None:
        return None
    return gpd.GeoDataFrame(pois)


def _feature_tags(row: Mapping[str, Any]) -> dict[str, str]:
    """All OSM tags of one pyrosm row: its tag columns merged with its `tags` JSON."""
    tags: dict[str, str] = {}
    extra = row.get("tags")
    if isinstance(extra, str) and extra:
        try:
            parsed = json.loads(extra)
        except json.JSONDecodeError:
            parsed = {}
        if isinstance(parsed, dict):
            tags.update({str(k): str(v) for k, v in parsed.items() if v is not None})
    elif isinstance(extra, Mapping):
        tags.update({str(k): str(v) for k, v in extra.items() if v is not None})
    for key, value in row.items():
        if key in _PYROSM_STRUCTURAL or is_missing_value(value):
            continue
        if isinstance(value, str):
            if value:
                tags[key] = value
        elif isinstance(value, int | float | np.integer | np.floating | bool):
            tags[key] = cell_text(value)
    return tags


def _feature_name(tags: Mapping[str, str]) -> str:
    for key in ("name", "name:zh", "name:en"):
        value = tags.get(key, "").strip()
        if value:
            return value
    return ""


def _feature_capacity(tags: Mapping[str, str], osm_id: str) -> float:
    raw = tags.get("capacity")
    if raw is None:
        return math.nan
    try:
        value = float(raw.strip())
    except ValueError:
        logger.debug("Ignoring capacity=%r of %s: not a number", raw, osm_id)
        return math.nan
    if not math.isfinite(value) or value <= 0:
        logger.debug("Ignoring capacity=%r of %s: not a positive number", raw, osm_id)
        return math.nan
    return value


def _empty_osm_facilities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": pd.Series([], dtype=object),
            "name": pd.Series([], dtype=object),
            "category": pd.Series([], dtype=object),
            "capacity": pd.Series([], dtype="float64"),
            "osm_id": pd.Series([], dtype=object),
        },
        geometry=gpd.GeoSeries([], crs="EPSG:4326"),
        crs="EPSG:4326",
    )


# --------------------------------------------------------------------------------------
# Writing
