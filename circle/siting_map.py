"""Map layers of recommended sites: proposed facilities, their service areas, who they reach.

:func:`add_proposed_sites` draws on a map of :func:`circle.maps.coverage_map` (usually the
scenario with the sites added, with its layer of changed neighbourhoods): each proposed site
as a numbered badge with a dashed ring (its rank), distinct from existing facilities; the
service area of the proposed sites per category, dashed in the category's colour; and the
people they newly reach, as dots sized by how many people each stands for.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final

import folium
import numpy as np
import shapely

from circle.i18n import category_label, check_lang, word
from circle.maps import (
    AUTO_TILES,
    BIND_TOOLTIP_JS,
    COORD_DECIMALS,
    category_colour,
    display_geometries,
    esc,
    feature_collection,
    number_text,
    resolve_basemap,
)

if TYPE_CHECKING:
    import geopandas as gpd

    from circle.i18n import Lang

__all__ = ["PROPOSED_COLOUR", "add_proposed_sites"]

#: The badge colour of proposed sites (existing facilities use the category colours).
PROPOSED_COLOUR: Final = "#000000"
_BADGE_PX: Final = 26
#: Radius of the dots of newly reached people (pixels): smallest, and per sqrt(people).
_DOT_MIN_PX: Final = 2.5
_DOT_PER_SQRT_PEOPLE: Final = 0.6
_DOT_MAX_PX: Final = 10.0


def _w(key: str, lang: Lang, **values: object) -> str:
    return word(f"siting.{key}", lang, **values)


def _lonlat(geometries: Any, coords: str) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 points as rounded lon/lat in `coords`."""
    from circle.coords import from_wgs84  # noqa: PLC0415

    lon, lat = shapely.get_x(geometries), shapely.get_y(geometries)
    if coords != "wgs84":
        lon, lat = from_wgs84(lon, lat, coords=coords)
    return np.round(lon, COORD_DECIMALS), np.round(lat, COORD_DECIMALS)


def _site_markers(
    sites: gpd.GeoDataFrame, names: list[str], coords: str, lang: Lang
) -> folium.FeatureGroup:
    """One numbered badge per ranked site; the popup lists its gain per category."""
    group = folium.FeatureGroup(name=esc(_w("map_proposed", lang)))
    lon, lat = _lonlat(sites.geometry.to_numpy(), coords)
    half = _BADGE_PX // 2
    seen: set[int] = set()
    for i, rank in enumerate(sites["rank"].astype(int)):
        if rank in seen:
            continue
        seen.add(rank)
        same = (sites["rank"] == rank).to_numpy()
        gains = "".join(
            "<br>"
            + esc(
                _w(
                    "map_newly",
                    lang,
                    label=category_label(str(c), lang),
                    people=number_text(float(p)),
                )
            )
            for c, p in zip(
                sites["category"].to_numpy()[same],
                sites["newly_covered"].to_numpy(float)[same],
                strict=True,
            )
        )
        title = esc(_w("map_site", lang, rank=rank))
        name = esc(names[i])
        badge = (
            f'<div class="circle-badge circle-proposed" data-rank="{rank}" '
            f'style="background:{PROPOSED_COLOUR};'
            f"color:#fff;border:2px dashed #fff;outline:2px solid {PROPOSED_COLOUR};"
            f'font-weight:bold">{rank}</div>'
        )
        folium.Marker(
            location=[float(lat[i]), float(lon[i])],
            icon=folium.DivIcon(
                html=badge,
                icon_size=(_BADGE_PX, _BADGE_PX),
                icon_anchor=(half, half),
                class_name="circle-facility",
            ),
            popup=folium.Popup(f"<b>{title}</b>: {name}{gains}", max_width=420),
            tooltip=f"{title}: {name}",
        ).add_to(group)
    return group


def _area_layers(
    service_areas: gpd.GeoDataFrame,
    categories: list[str],
    *,
    colours: dict[str, str],
    metric_crs: Any,
    coords: str,
    lang: Lang,
) -> list[folium.GeoJson]:
    """Per category: the area within the threshold of the proposed sites, dashed."""
    shown = service_areas.loc[service_areas["category"].isin(categories)]
    shown = shown.loc[~shown.geometry.is_empty & shown.geometry.notna()]
    if shown.empty:
        return []
    shapes = display_geometries(shown, metric_crs, coords)
    layers = []
    for category, geometry in zip(shown["category"], shapes.geometry, strict=True):
        label = category_label(str(category), lang)
        colour = colours[str(category)]
        name = _w("map_area", lang, label=label)
        layers.append(
            folium.GeoJson(
                feature_collection([geometry], [{"tooltip": esc(name)}]),
                name=esc(name),
                style_function=lambda _f, colour=colour: {
                    "color": colour,
                    "weight": 2.5,
                    "dashArray": "6 4",
                    "opacity": 1.0,
                    "fillColor": colour,
                    "fillOpacity": 0.18,
                },
                on_each_feature=BIND_TOOLTIP_JS,
            )
        )
    return layers


def _reached_layers(
    reached: gpd.GeoDataFrame,
    categories: list[str],
    colours: dict[str, str],
    coords: str,
    lang: Lang,
) -> list[folium.GeoJson]:
    """Per category: dots where people the proposed sites newly reach live."""
    layers = []
    points = reached.to_crs("EPSG:4326")
    for category in categories:
        mine = points.loc[points["category"] == category]
        if mine.empty:
            continue
        label = category_label(category, lang)
        people = mine["people"].to_numpy(float)
        lon, lat = _lonlat(mine.geometry.to_numpy(), coords)
        radius = np.clip(
            _DOT_MIN_PX + _DOT_PER_SQRT_PEOPLE * np.sqrt(people), _DOT_MIN_PX, _DOT_MAX_PX
        )
        properties = [
            {
                "tooltip": esc(_w("map_reached_tip", lang, people=_count(p), label=label)),
                "radius": round(float(r), 1),
            }
            for p, r in zip(people, radius, strict=True)
        ]
        colour = colours[category]
        layers.append(
            folium.GeoJson(
                feature_collection(shapely.points(lon, lat), properties),
                name=esc(_w("map_reached", lang, label=label)),
                marker=folium.CircleMarker(radius=_DOT_MIN_PX),
                style_function=lambda f, colour=colour: {
                    "radius": f["properties"]["radius"],
                    "color": colour,
                    "weight": 0.5,
                    "opacity": 0.9,
                    "fillColor": colour,
                    "fillOpacity": 0.6,
                },
                on_each_feature=BIND_TOOLTIP_JS,
            )
        )
    return layers


def _count(people: float) -> str:
    """People as a whole number, or one decimal below 10 (proxy populations are fractional)."""
    return number_text(people, 0 if people >= 10 or math.isclose(people, round(people)) else 1)


def add_proposed_sites(
    m: folium.Map,
    sites: gpd.GeoDataFrame,
    *,
    names: list[str],
    categories: list[str],
    service_areas: gpd.GeoDataFrame,
    newly_reached: gpd.GeoDataFrame,
    metric_crs: Any,
    lang: Lang = "en",
    tiles: str | None = AUTO_TILES,
    tiles_attribution: str | None = None,
) -> folium.Map:
    """Draw recommended sites on a coverage map (the map is changed and returned).

    Parameters
    ----------
    m
        A map of :func:`circle.maps.coverage_map`.
    sites
        :attr:`circle.siting.Recommendation.sites` (WGS-84): ``rank``, ``category``,
        ``newly_covered`` and the point of each site.
    names
        A name per row of `sites` (the candidate's name or id).
    categories
        All categories of the study (they fix the colours, as on the coverage map).
    service_areas
        Service areas of the proposed sites alone (:func:`circle.isochrones.service_areas`):
        ``category`` and a polygon, any CRS.
    newly_reached
        Where the people the sites newly reach live: ``category``, ``people`` and a point.
    metric_crs
        The network's metric CRS (shapes are simplified there for display).
    lang
        {"en", "zh"}.
    tiles, tiles_attribution
        The basemap of `m` (see :func:`circle.maps.coverage_map`): with ``"gaode"`` the
        layers are shifted to GCJ-02 like the rest of the map.

    Returns
    -------
    folium.Map
        `m`, with the layers of the proposed sites added before its layer control.
    """
    lang = check_lang(lang)
    basemap = resolve_basemap(tiles, tiles_attribution, lang=lang)
    coords = basemap.coords if basemap else "wgs84"
    colours = {c: category_colour(c, categories) for c in categories}
    chosen = [c for c in categories if c in set(sites["category"].astype(str))]
    for layer in _area_layers(
        service_areas, chosen, colours=colours, metric_crs=metric_crs, coords=coords, lang=lang
    ):
        layer.add_to(m)
    for layer in _reached_layers(newly_reached, chosen, colours, coords, lang):
        layer.add_to(m)
    _site_markers(sites, names, coords, lang).add_to(m)
    # The layer control lists the layers it finds when drawn; it must come after them.
    for key, child in list(m._children.items()):
        if isinstance(child, folium.LayerControl):
            m._children.move_to_end(key)
    return m
