"""Folium maps of coverage and gaps: self-contained HTML, legend, bilingual labels.

A map shows, each as a layer that can be switched on and off: per category the service
area (the walkable area within its threshold, :func:`circle.isochrones.service_areas`)
and the facilities; facilities that are off the walking network; and the neighbourhoods
coloured by their overall status over the categories with facilities
(:func:`circle.coverage.overall_status`). A legend, a title, a summary of the
covered population and the OpenStreetMap attribution are always shown.

Maps are written as one HTML file that needs no internet: Leaflet and the other scripts
are inlined from the copies circle ships (:mod:`circle._inline`). A basemap is drawn by
default (:data:`AUTO_TILES`: AutoNavi/Gaode tiles in Chinese, CARTO in English); offline
its tiles do not load and the map keeps its plain background. Shapes are simplified by
:data:`MAP_SIMPLIFY_M` and rounded to :data:`SHAPE_DECIMALS` decimals, and each
neighbourhood's shape is written once and drawn by every neighbourhood layer, so a city of
~40,000 walking nodes stays a few MB and one of 500,000 under 20 MB.
"""

from __future__ import annotations

import html
import itertools
import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element
from folium.template import Template
from folium.utilities import JsCode

from circle._inline import inline_assets
from circle._io import atomic_path, texts_by_key
from circle.categories import BUILTIN_ORDER
from circle.comparison import CHANGES, area_change
from circle.coords import convert_geometries, from_wgs84
from circle.coverage import HORIZON_FACTOR, STATUSES, overall_status
from circle.defaults import MAP_TILES
from circle.errors import InputError
from circle.i18n import (
    attribution,
    category_label,
    category_labels,
    check_lang,
    status_word,
    with_labels,
    word,
    words,
)
from circle.i18n import threshold_text as threshold_words

if TYPE_CHECKING:
    import os

    from circle.capacity import CapacityResult
    from circle.comparison import Comparison
    from circle.coverage import AccessModel, CoverageResult
    from circle.i18n import Lang

__all__ = [
    "AUTO_TILES",
    "BACKGROUND_COLOUR",
    "COORD_DECIMALS",
    "GRADE_CLASS_EDGES_PCT",
    "MANY_MARKERS",
    "MAP_SIMPLIFY_M",
    "OKABE_ITO",
    "SHAPE_DECIMALS",
    "STATUS_CODES",
    "InlineMap",
    "choose_tiles",
    "coverage_map",
    "grade_layer",
    "map_html",
    "save_map",
    "show",
]

logger = logging.getLogger(__name__)

MAP_SIMPLIFY_M: Final = 3.0
"""Tolerance (metres, in the network's metric CRS) of the display simplification of polygons."""

COORD_DECIMALS: Final = 6
"""Decimals of longitude/latitude kept for points in the map (1e-6 degree is about 0.1 m)."""

SHAPE_DECIMALS: Final = 5
"""Decimals of longitude/latitude kept for polygons and lines in the map: 1e-5 degree is at
most 1.1 m, so rounding moves a vertex by 0.8 m at most, below the simplification."""

MANY_MARKERS: Final = 500
"""Above this many facilities in a layer, they are drawn as light circle markers (one SVG
path each) instead of badges with an icon (an HTML element each), so the map stays smooth."""

BACKGROUND_COLOUR: Final = "#f2efe9"
"""The map's background where no basemap is drawn (OpenStreetMap's land colour)."""

OKABE_ITO: Final[tuple[str, ...]] = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)
"""Category colours, safe for colour-blind readers (Okabe & Ito 2008). Built-in categories
take the first four in :data:`circle.categories.BUILTIN_ORDER`; custom ones continue, in
alphabetical order, and wrap around."""

#: Colours on which a white glyph is hard to read get a black one.
_DARK_GLYPH: Final = frozenset({"#E69F00", "#56B4E9", "#F0E442"})

#: Font Awesome 6.2 (solid) icons of the built-in categories; all exist in the vendored CSS.
_ICONS: Final[dict[str, str]] = {
    "canteen": "utensils",
    "clinic": "house-medical",
    "daycare": "baby",
    "gig_station": "briefcase",
}
_CUSTOM_ICON: Final = "circle"
_OFF_NETWORK_ICON: Final = "link-slash"
_OFF_NETWORK_COLOUR: Final = "#8c8c8c"
_MARKER_PX: Final = 24

#: Neighbourhood styles by status: a light-to-dark sequence (readable without hue).
_STATUS_STYLE: Final[dict[str, dict[str, Any]]] = {
    "covered": {
        "color": "#636363",
        "weight": 0.6,
        "opacity": 0.6,
        "fillColor": "#ffffff",
        "fillOpacity": 0.05,
    },
    "partial": {
        "color": "#b35806",
        "weight": 1.0,
        "opacity": 0.8,
        "fillColor": "#fdb863",
        "fillOpacity": 0.35,
    },
    "uncovered": {
        "color": "#7f0000",
        "weight": 2.5,
        "opacity": 0.95,
        "fillColor": "#d7301f",
        "fillOpacity": 0.5,
    },
    "empty": {
        "color": "#a0a0a0",
        "weight": 0.5,
        "opacity": 0.35,
        "fillColor": "#ffffff",
        "fillOpacity": 0.0,
        "dashArray": "3 3",
    },
}
_STATUS_ORDER: Final = ("uncovered", "partial", "covered", "empty")

STATUS_CODES: Final[dict[str, str]] = {
    "covered": "c",
    "partial": "p",
    "uncovered": "u",
    "empty": "e",
}
"""The one-letter codes of the statuses in the map's neighbourhood data (``s`` and the
first item of each row in ``r``); the page turns them back into words."""

_SERVICE_AREA_FILL_OPACITY: Final = 0.12
_POPULATION_COLOURS: Final = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")

#: Basemaps by name: tile URL, attribution, subdomains and the coordinates the tiles use.
_BASEMAPS: Final[dict[str, tuple[str, str, str, str]]] = {
    "osm": (
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        'Tiles © <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
        "abc",
        "wgs84",
    ),
    "cartodb": (
        "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png",
        '© <a href="https://carto.com/attributions">CARTO</a>',
        "abcd",
        "wgs84",
    ),
    "gaode": (
        (
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
            "&x={x}&y={y}&z={z}"
        ),
        "© AutoNavi",
        "1234",
        "gcj02",
    ),
}

AUTO_TILES: Final = MAP_TILES
"""The default basemap: ``"gaode"`` (AutoNavi, reachable in mainland China) for Chinese
maps, ``"cartodb"`` (CARTO light, on OpenStreetMap data) for English ones."""

_CLOSED_ICON: Final = "xmark"
_CLOSED_COLOUR: Final = "#4d4d4d"

_OSM_LINK: Final = '<a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'

#: Binds the popup and tooltip HTML that circle prepared (and escaped) to each feature.
_BIND_JS: Final = JsCode(
    "function(feature, layer) {"
    " layer.bindPopup(feature.properties.popup, {maxWidth: 420});"
    " layer.bindTooltip(feature.properties.tooltip, {sticky: true});"
    " }"
)

#: Binds a tooltip only (population and service areas: nothing more to say on a click).
BIND_TOOLTIP_JS: Final = JsCode(
    "function(feature, layer) { layer.bindTooltip(feature.properties.tooltip, {sticky: true}); }"
)

#: Binds a neighbourhood's popup and tooltip, built from its properties when first shown.
_BIND_AREA_JS: Final = JsCode(
    "function(feature, layer) {"
    " var p = feature.properties;"
    " layer.bindPopup(function() { return circleMaps.areaPopup(p); }, {maxWidth: 420});"
    " layer.bindTooltip(function() { return circleMaps.areaTooltip(p); }, {sticky: true});"
    " }"
)

#: Popup and tooltip builders of neighbourhoods; ``circleMaps.text`` is set per map. Every
#: string they join was escaped in Python (names) or is circle's own.
_PAGE_JS: Final = """
var circleMaps = {text: null};
circleMaps.share = function(v) { return typeof v === "number" ? v + " %" : v; };
circleMaps.minutes = function(v) { return typeof v === "number" ? v.toFixed(1) : v; };
circleMaps.areaPopup = function(p) {
  var t = circleMaps.text, rows = "";
  for (var i = 0; i < p.r.length; i++) {
    var r = p.r[i];
    rows += "<tr><td>" + t.labels[i] + "</td><td class='s-" + circleMaps.statuses[r[0]] +
      "'>" + circleMaps.share(r[1]) + "</td><td>" + circleMaps.minutes(r[2]) + "</td><td>" +
      circleMaps.minutes(r[3]) + "</td></tr>";
  }
  var status = circleMaps.statuses[p.s];
  return "<b>" + p.n + "</b><br>" + t.population + ": " + p.p + "<br>" +
    t.status + ": <span class='s-" + status + "'>" + t.words[status] + "</span>" +
    "<table class='circle-area'>" + t.head + rows + "</table>";
};
circleMaps.areaTooltip = function(p) {
  var t = circleMaps.text, missing = [];
  for (var i = 0; i < p.r.length; i++) {
    if (p.r[i][0] === "u" || p.r[i][0] === "p") {
      missing.push(t.labels[i]);
    }
  }
  var text = "<b>" + p.n + "</b>: " + t.words[circleMaps.statuses[p.s]];
  return missing.length ? text + "<br>" + t.missing + ": " + missing.join("; ") : text;
};
circleMaps.categoryTooltip = function(p, i) {
  var t = circleMaps.text, r = p.r[i];
  var text = "<b>" + p.n + "</b><br>" + t.labels[i] + ": " + t.words[circleMaps.statuses[r[0]]];
  return typeof r[1] === "number" ? text + " (" + r[1] + " %)" : text;
};
circleMaps.decode = function(data, scale) {
  function ring(r) {
    var x = 0, y = 0;
    for (var i = 0; i < r.length; i++) {
      x += r[i][0]; y += r[i][1]; r[i][0] = x / scale; r[i][1] = y / scale;
    }
  }
  var features = data.coordinates.map(function(c, i) {
    c.forEach(function(p) { p.forEach(ring); });
    return {type: "Feature", geometry: {type: "MultiPolygon", coordinates: c},
      properties: data.properties[i]};
  });
  return {type: "FeatureCollection", features: features};
};
circleMaps.areaStyle = function(code) {
  return circleMaps.styles[circleMaps.statuses[code]];
};
circleMaps.categoryStyle = function(code) {
  var status = circleMaps.statuses[code];
  return Object.assign({}, circleMaps.styles[status], {className: "circle-category-" + status});
};
"""

#: Binds a neighbourhood's tooltip in the layer of one category (its index in ``rows``).
_BIND_CATEGORY_JS: Final = (
    "function(feature, layer) {"
    " layer.bindTooltip(function() {"
    " return circleMaps.categoryTooltip(feature.properties, %d); }, {sticky: true});"
    " }"
)


_FONTS: Final = (
    '"Helvetica Neue", Arial, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", '
    '"WenQuanYi Micro Hei", sans-serif'
)

_CSS: Final = f"""
.folium-map.leaflet-container {{ background: {BACKGROUND_COLOUR}; font-family: {_FONTS}; }}
.circle-box {{ font-family: {_FONTS}; }}
.circle-box {{ position: fixed; z-index: 1000; background: rgba(255,255,255,0.93);
  border-radius: 6px; box-shadow: 0 1px 5px rgba(0,0,0,0.35); padding: 6px 10px;
  font-size: 12px; line-height: 1.35;
  color: #222; max-width: 42vw; }}
.circle-title {{ top: 10px; left: 50%; transform: translateX(-50%); font-size: 15px;
  font-weight: bold; text-align: center; }}
.circle-legend {{ bottom: 50px; left: 10px; max-height: 65vh; overflow-y: auto; }}
.circle-summary {{ bottom: 30px; right: 10px; }}
.circle-box h4 {{ margin: 2px 0 4px; font-size: 13px; font-weight: bold; }}
.circle-box h5 {{ margin: 6px 0 2px; font-size: 12px; font-weight: bold; }}
.leaflet-control-layers {{ font-size: 12px; line-height: 1.3; }}
.leaflet-popup-content, .leaflet-tooltip {{ font-size: 12px; line-height: 1.35; }}
.leaflet-tooltip {{ white-space: normal; width: max-content; max-width: 320px; }}
.circle-box table, .leaflet-popup-content table {{ border-collapse: collapse; }}
.circle-box td, .leaflet-popup-content td, .leaflet-popup-content th {{
  padding: 1px 5px; vertical-align: middle; }}
.leaflet-popup-content th {{ font-weight: normal; color: #555; text-align: right; }}
.leaflet-popup-content .circle-area td + td {{ text-align: right; }}
.circle-swatch {{ display: inline-block; width: 14px; height: 11px; border: 1px solid;
  vertical-align: middle; }}
.circle-badge {{ display: flex; align-items: center; justify-content: center;
  width: {_MARKER_PX - 4}px; height: {_MARKER_PX - 4}px; border-radius: 50%;
  border: 2px solid #fff; box-shadow: 0 0 3px rgba(0,0,0,0.6); font-size: 11px; }}
.circle-badge.off {{ border: 2px dashed #444; }}
.circle-legend .circle-badge {{ width: 14px; height: 14px; font-size: 8px;
  display: inline-flex; vertical-align: middle; }}
.circle-facility {{ background: none; border: none; }}
.s-covered {{ color: #1a6b1a; }} .s-partial {{ color: #b35806; }}
.s-uncovered {{ color: #b30000; font-weight: bold; }} .s-empty {{ color: #888; }}
"""


class _Decorations(folium.MacroElement):
    """The fixed boxes (title, legend, summary), their CSS and the OSM attribution."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}<style>{{ this.css }}</style>
        <script>{{ this.page_js }}
        circleMaps.text = {{ this.page_text }};
        circleMaps.styles = {{ this.styles }};
        circleMaps.statuses = {{ this.statuses }};</script>{% endmacro %}
        {% macro html(this, kwargs) %}{{ this.body }}{% endmacro %}
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.attribution }});
        L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, body: str, attribution: str, page_text: dict[str, Any]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "CircleDecorations"
        self.css = _CSS
        self.page_js = _PAGE_JS
        self.page_text = _script_json(page_text)
        self.styles = json.dumps(
            {
                status: {**style, "className": f"circle-{status}"}
                for status, style in _STATUS_STYLE.items()
            }
        )
        self.statuses = json.dumps({code: status for status, code in STATUS_CODES.items()})
        self.body = body
        self.attribution = _script_json(attribution)


def _script_json(value: Any) -> str:
    """`value` as a JavaScript literal that is safe inside a ``<script>`` element."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


@dataclass(frozen=True)
class _Basemap:
    """A tile layer: URL template, attribution, subdomains, the coordinates its tiles use."""

    url: str
    attribution: str
    subdomains: str
    coords: str


def choose_tiles(tiles: str | None, lang: Lang) -> str | None:
    """The basemap `tiles` stands for: :data:`AUTO_TILES` by `lang`, ``"none"`` is None.

    Examples
    --------
    >>> choose_tiles("auto", "zh"), choose_tiles("auto", "en"), choose_tiles("none", "en")
    ('gaode', 'cartodb', None)
    """
    if tiles is None or tiles.lower() == "none":
        return None
    if tiles == AUTO_TILES:
        return "gaode" if lang == "zh" else "cartodb"
    return tiles


def resolve_basemap(
    tiles: str | None, attribution: str | None, *, lang: Lang = "en"
) -> _Basemap | None:
    """Resolve the `tiles` option (see :func:`coverage_map`)."""
    tiles = choose_tiles(tiles, lang)
    if tiles is None:
        return None
    if tiles in _BASEMAPS:
        url, default_attribution, subdomains, coords = _BASEMAPS[tiles]
        credit = html.escape(attribution) if attribution else default_attribution
        return _Basemap(url, credit, subdomains, coords)
    if "{z}" in tiles and "{x}" in tiles and "{y}" in tiles:
        if not attribution:
            msg = (
                f"`tiles` is a custom tile URL ({tiles!r}) but `tiles_attribution` is missing; "
                "give the credit line the tile provider asks for, e.g. "
                "`tiles_attribution='© My City Survey'`."
            )
            raise InputError(msg)
        # Leaflet shows the attribution as HTML: the user's text is shown as plain text.
        return _Basemap(tiles, html.escape(attribution), "abc", "wgs84")
    msg = (
        f"`tiles` must be 'auto', None or 'none' (no basemap), 'osm', 'cartodb', 'gaode' "
        "or an XYZ tile URL "
        f"with {{z}}, {{x}} and {{y}}, not {tiles!r}."
    )
    raise InputError(msg)


def esc(value: object) -> str:
    """`value` as text that is safe inside HTML (names come from user files)."""
    return html.escape(str(value), quote=True)


def number_text(value: float, decimals: int = 0) -> str:
    return f"{value:,.{decimals}f}"


def _share(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{100 * value:.0f} %"


def category_colour(category: str, categories: list[str]) -> str:
    """The Okabe-Ito colour of `category`: built-ins fixed, custom ones in turn after them."""
    if category in BUILTIN_ORDER:
        return OKABE_ITO[BUILTIN_ORDER.index(category)]
    custom = sorted(c for c in categories if c not in BUILTIN_ORDER)
    position = len(BUILTIN_ORDER) + custom.index(category)
    return OKABE_ITO[position % len(OKABE_ITO)]


def _badge(colour: str, icon: str, *, off: bool = False) -> str:
    glyph = "#000" if colour in _DARK_GLYPH else "#fff"
    extra = " off" if off else ""
    return (
        f'<div class="circle-badge{extra}" style="background:{colour};color:{glyph}">'
        f'<i class="fa-solid fa-{icon}"></i></div>'
    )


def display_geometries(frame: gpd.GeoDataFrame, metric_crs: Any, coords: str) -> gpd.GeoDataFrame:
    """Simplify in the metric CRS, then lon/lat in `coords`, rounded to SHAPE_DECIMALS."""
    metric = frame.to_crs(metric_crs)
    # Drawing only: plain Douglas-Peucker (no topology repair) and rounded coordinates (no
    # GEOS precision model) are several times faster on a city's service areas, and a
    # vertex moves by at most MAP_SIMPLIFY_M plus the rounding (under a metre).
    simplified = shapely.simplify(
        np.asarray(metric.geometry.array), MAP_SIMPLIFY_M, preserve_topology=False
    )
    lonlat = metric.set_geometry(gpd.GeoSeries(simplified, index=metric.index, crs=metric.crs))
    lonlat = lonlat.to_crs("EPSG:4326")
    if coords != "wgs84":
        lonlat = convert_geometries(lonlat, source="wgs84", target=coords)
    rounded = shapely.transform(
        np.asarray(lonlat.geometry.array), lambda xy: np.round(xy, SHAPE_DECIMALS)
    )
    return lonlat.set_geometry(gpd.GeoSeries(rounded, index=lonlat.index, crs="EPSG:4326"))


def feature_collection(geometries: Any, properties: list[dict[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection; empty geometries are left out, ids are row numbers."""
    features = [
        {
            "type": "Feature",
            "id": str(i),
            "geometry": shapely.geometry.mapping(geometry),
            "properties": props,
        }
        for i, (geometry, props) in enumerate(zip(geometries, properties, strict=True))
        if geometry is not None and not geometry.is_empty
    ]
    return {"type": "FeatureCollection", "features": features}


#: Coordinates of polygons in the page are integers in units of 10**-SHAPE_DECIMALS degree.
_SHAPE_SCALE: Final = 10**SHAPE_DECIMALS
#: Integer pairs below this in size pack into one int64 (:func:`_pair_texts`).
_PACK_LIMIT: Final = 2**31


def _delta_coordinates(geometries: np.ndarray) -> list[str]:
    """Each polygon's coordinates as MultiPolygon JSON text, delta-encoded (as TopoJSON).

    Longitudes and latitudes become integers in units of ``10**-SHAPE_DECIMALS`` degree;
    each ring's first vertex is absolute, the others are the step from the vertex before
    (a few digits instead of nine). ``circleMaps.decode`` in the page restores degrees.
    """
    if not len(geometries):
        return []
    kind, coords, offsets = shapely.to_ragged_array(geometries)
    if kind == shapely.GeometryType.POLYGON:
        ring_offsets, polygon_offsets = offsets
        part_offsets = np.arange(len(polygon_offsets))
    elif kind == shapely.GeometryType.MULTIPOLYGON:
        ring_offsets, polygon_offsets, part_offsets = offsets
    else:
        msg = f"only polygons are delta-encoded, not {kind!r}"
        raise TypeError(msg)
    units = np.rint(coords * _SHAPE_SCALE).astype(np.int64)
    steps = np.diff(units, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    starts = ring_offsets[:-1]
    steps[starts] = units[starts]
    vertices = _pair_texts(steps)
    rings = [
        "[" + ",".join(vertices[a:b]) + "]" for a, b in itertools.pairwise(ring_offsets.tolist())
    ]
    polygons = [
        "[" + ",".join(rings[a:b]) + "]" for a, b in itertools.pairwise(polygon_offsets.tolist())
    ]
    return [
        "[" + ",".join(polygons[a:b]) + "]" for a, b in itertools.pairwise(part_offsets.tolist())
    ]


def _pair_texts(pairs: np.ndarray) -> list[str]:
    """``"[x,y]"`` of each row of integer `pairs`, each distinct row written once."""
    packable = len(pairs) and int(np.abs(pairs).max()) < _PACK_LIMIT
    if not packable:
        return [f"[{x},{y}]" for x, y in pairs.tolist()]
    keys = pairs[:, 0] * (2 * _PACK_LIMIT) + pairs[:, 1]  # one int64 per distinct row
    return texts_by_key(keys, lambda first: [f"[{x},{y}]" for x, y in pairs[first].tolist()])


def polygon_collection_text(geometries: Any, properties: list[dict[str, Any]]) -> str:
    """Polygons and their properties as compact text for a page, safe inside ``<script>``.

    ``{"coordinates": [...], "properties": [...]}``: per polygon (empty ones left out) its
    MultiPolygon coordinates, delta-encoded (:func:`_delta_coordinates`), and its
    properties, written without spaces. ``circleMaps.decode`` in the page turns it into a
    GeoJSON FeatureCollection (in degrees).
    """
    array = np.asarray(geometries, dtype=object)
    keep = ~(shapely.is_missing(array) | shapely.is_empty(array))
    coordinates = ",".join(_delta_coordinates(array[keep]))
    kept = list(itertools.compress(properties, keep.tolist()))
    props = json.dumps(kept, ensure_ascii=False, separators=(",", ":"))
    text = f'{{"coordinates":[{coordinates}],"properties":{props}}}'
    return text.replace("</", "<\\/")


class _RawScript(Element):
    """Script text put in the page as it is (branca would parse it as a Jinja template).

    `payload`, a part of `text`, is data that holds no element id and no tag (see
    :func:`map_html`, which sets it aside while it numbers ids and inlines assets).
    """

    def __init__(self, text: str, *, payload: str = "") -> None:
        super().__init__()
        self.text = text
        self.payload = payload

    def render(self, **_kwargs: Any) -> str:
        return self.text


class _CompactGeoJson(folium.GeoJson):
    """A layer of polygons written once, compactly, and styled in the page.

    folium writes a layer's data with spaces, parses it again as a template, and lists every
    feature's id under its style; this layer writes its polygons delta-encoded
    (:func:`polygon_collection_text`) outside the template (``<name>_data``), styles them
    with a JavaScript function, and can draw the polygons of another such layer (`source`),
    so shapes that several layers show are written once. A hidden layer builds its features
    only when it is first switched on. ``.data`` gives the features as GeoJSON dictionaries
    (in degrees), as folium's layers do.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson(null, {
            style: {{ this.style_js }},
            onEachFeature: {{ this.bind_js }},
            smoothFactor: {{ this.smooth }}
        });
        {%- if this.show %}
        {{ this.get_name() }}.addData({{ this.source_name }}_data);
        {%- else %}
        {{ this.get_name() }}.once("add", function() {
            {{ this.get_name() }}.addData({{ this.source_name }}_data);
        });
        {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(
        self,
        geometries: Any,
        properties: list[dict[str, Any]],
        *,
        name: str,
        style_js: str,
        bind_js: str,
        show: bool = True,
        source: _CompactGeoJson | None = None,
        smooth: float = 1.0,
    ) -> None:
        folium.map.Layer.__init__(self, name=name, overlay=True, control=True, show=show)
        self._name = "GeoJson"
        self.geometries = np.asarray(geometries, dtype=object)
        self.properties = properties
        self.source = source
        self.style_js = style_js
        self.bind_js = bind_js
        self.smooth = smooth
        self._data: dict[str, Any] | None = None

    @property
    def data(self) -> dict[str, Any]:  # type: ignore[override]
        """The features as a GeoJSON FeatureCollection (built when first asked for)."""
        if self.source is not None:
            return self.source.data
        if self._data is None:
            self._data = feature_collection(self.geometries, self.properties)
        return self._data

    @property
    def source_name(self) -> str:
        return (self.source or self).get_name()

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        if self.source is None:
            text = polygon_collection_text(self.geometries, self.properties)
            script = f"var {self.get_name()}_data = circleMaps.decode({text}, {_SHAPE_SCALE});"
            figure: Any = self.get_root()
            figure.script.add_child(
                _RawScript(script, payload=text), name=f"{self.get_name()}_data"
            )
        folium.map.Layer.render(self, **kwargs)  # type: ignore[no-untyped-call]


def _minutes_value(value: float, horizon: float) -> float | str:
    """:func:`_minutes` for the page: a number (shown with one decimal there) or text."""
    if math.isfinite(value):
        return round(value, 1)
    return _minutes(value, horizon)


def _minutes(value: float, horizon: float) -> str:
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return f"&gt;{horizon:g}"
    return f"{value:.1f}"


def threshold_text(model: AccessModel, category: str, lang: Lang) -> str:
    """``15 min``, or ``300 m (4 min walk)`` where the threshold is a distance (GB 50180)."""
    metres = model.threshold_metres(category) if model.is_distance(category) else None
    return threshold_words(model.threshold_minutes(category), metres, lang)


def mapped_categories(result: CoverageResult) -> list[str]:
    """Categories with at least one facility on the network (all of them if none has one).

    The neighbourhoods' default layer colours the overall status over these only: a
    category without any facility would paint every neighbourhood uncovered.
    """
    model = result.model
    served = [c for c in result.categories if len(model.source_rows(c))]
    return served or list(result.categories)


def _status_codes(statuses: Any) -> list[str]:
    """The :data:`STATUS_CODES` of statuses (each distinct one looked up once)."""
    ids = [str(s) for s in statuses]
    codes = {s: STATUS_CODES[s] for s in dict.fromkeys(ids)}
    return [codes[s] for s in ids]


def _minutes_values(values: np.ndarray, horizon: float) -> list[float | str]:
    """:func:`_minutes_value` of each value (rounded as numpy rounds, in one pass)."""
    cells = np.round(values, 1).astype(object)
    cells[np.isnan(values)] = _minutes(math.nan, horizon)
    cells[np.isinf(values)] = _minutes(math.inf, horizon)
    return cells.tolist()  # type: ignore[no-any-return]


def _category_rows(table: gpd.GeoDataFrame, category: str, horizon: float) -> list[list[Any]]:
    """Per neighbourhood ``[status code, covered %, median, max minutes]`` of `category`."""
    shares = 100 * table[f"{category}_covered_share"].to_numpy(float)
    finite = np.isfinite(shares)
    percent = np.where(finite, np.rint(np.where(finite, shares, 0)), 0).astype(np.int64)
    percents = np.where(finite, percent.astype(object), "–").tolist()
    return [
        list(row)
        for row in zip(
            _status_codes(table[f"{category}_status"].astype(str).tolist()),
            percents,
            _minutes_values(table[f"{category}_median_min"].to_numpy(float), horizon),
            _minutes_values(table[f"{category}_max_min"].to_numpy(float), horizon),
            strict=True,
        )
    ]


def _neighbourhood_layer(
    result: CoverageResult,
    table: gpd.GeoDataFrame,
    shapes: gpd.GeoDataFrame,
    lang: Lang,
    *,
    show: bool = True,
) -> _CompactGeoJson:
    """Neighbourhoods coloured by their overall status; popups and tooltips are built in the page.

    The overall status (:func:`circle.coverage.overall_status`) over the categories that
    have facilities: covered when every one is covered, uncovered when none is, partial in
    between, so the default view tells the places that reach nothing from those that reach
    part of the life circle.


    Each feature carries only its escaped name ``n``, population ``p``, overall status ``s``
    and per category a row ``[status, covered %, median, max minutes]`` in ``r``, statuses
    as :data:`STATUS_CODES`; ``circleMaps.areaPopup`` and ``circleMaps.areaTooltip`` (see
    :data:`_PAGE_JS`) add the words when opened, so they are not repeated for every
    neighbourhood.
    """
    categories = result.categories
    worst = overall_status(table, mapped_categories(result))
    per_category = [
        _category_rows(table, c, result.model.threshold_minutes(c) * HORIZON_FACTOR)
        for c in categories
    ]
    names = [esc(name) for name in table["name"].tolist()]
    populations = [number_text(p) for p in table["population"].to_numpy(float).tolist()]
    rows = (
        [list(r) for r in zip(*per_category, strict=True)]
        if per_category
        else [[] for _ in range(len(table))]
    )
    properties = [
        {"s": s, "n": n, "p": p, "r": r}
        for s, n, p, r in zip(_status_codes(worst), names, populations, rows, strict=True)
    ]
    return _CompactGeoJson(
        shapes.geometry.array,
        properties,
        name=esc(words("map", lang)["neighbourhoods"]),
        show=show,
        style_js="function(f) { return circleMaps.areaStyle(f.properties.s); }",
        bind_js=str(_BIND_AREA_JS),
        smooth=0.5,
    )


def _category_status_layers(
    result: CoverageResult, shapes: _CompactGeoJson, lang: Lang
) -> list[_CompactGeoJson]:
    """One layer per category, neighbourhoods coloured by that category's status (hidden).

    The overall layer shows the overall status over the categories; these let a planner look
    at one service at a time (for example when another service has no facility at all).
    They draw the shapes of the overall layer (`shapes`, written once): the status, share
    and tooltip come from its per-category ``rows`` (``circleMaps.categoryTooltip``).
    """
    return [
        _CompactGeoJson(
            shapes.geometries,
            shapes.properties,
            source=shapes,
            name=esc(words("map", lang)["status_for"].format(label=category_label(category, lang))),
            show=False,
            style_js=(
                f"function(f) {{ return circleMaps.categoryStyle(f.properties.r[{i}][0]); }}"
            ),
            bind_js=_BIND_CATEGORY_JS % i,
            smooth=0.5,
        )
        for i, category in enumerate(result.categories)
    ]


def _page_text(result: CoverageResult, lang: Lang) -> dict[str, Any]:
    """The words the page's popup builders use (HTML-escaped)."""
    text = words("map", lang)
    return {
        "labels": [esc(category_label(c, lang)) for c in result.categories],
        "words": {s: esc(status_word(s, lang)) for s in STATUSES},
        "head": (
            f"<tr><th></th><th>{esc(text['covered_share'])}</th>"
            f"<th>{esc(text['median'])}</th><th>{esc(text['max'])}</th></tr>"
        ),
        "population": esc(word(f"people.population_{result.people.unit}", lang)),
        "status": esc(text["status"]),
        "missing": esc(text["missing"]),
    }


def _quantile_classes(
    values: np.ndarray, sample: np.ndarray, palette: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Quantile class edges of `sample`, the class of each of `values`, a colour per class.

    Classes that collapse (many equal values) are merged; the colours then spread over the
    whole palette.
    """
    if sample.size:
        edges = np.unique(np.quantile(sample, np.linspace(0, 1, len(palette) + 1)))
    else:
        edges = np.array([0.0, 1.0])
    if len(edges) < 2:
        edges = np.array([edges[0], edges[0] + 1.0])
    classes = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    colours = [
        palette[round(k * (len(palette) - 1) / max(len(edges) - 2, 1))]
        for k in range(len(edges) - 1)
    ]
    return edges, classes, colours


def _population_layer(
    table: gpd.GeoDataFrame, shapes: gpd.GeoDataFrame, metric_crs: Any, lang: Lang, unit: str
) -> tuple[folium.GeoJson, str]:
    """A choropleth of people (or the proxy's `unit`) per km² in quantile classes, and legend."""
    text = dict(words("map", lang))
    text["population"] = word(f"people.population_{unit}", lang)
    text["population_unit"] = text[f"density_{unit}"]
    area_km2 = table.to_crs(metric_crs).area.to_numpy() / 1e6
    population = table["population"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.where(area_km2 > 0, population / area_km2, 0.0)
    edges, classes, colours = _quantile_classes(density, density[density > 0], _POPULATION_COLOURS)
    properties = []
    for name, people, dens, cls in zip(table["name"], population, density, classes, strict=True):
        tooltip = (
            f"<b>{esc(name)}</b><br>{esc(text['population'])}: {number_text(people)}"
            f" ({number_text(dens)} {esc(text['population_unit'])})"
        )
        fill = colours[int(cls)] if people > 0 else "#ffffff"
        properties.append({"fill": fill, "tooltip": tooltip})
    layer = folium.GeoJson(
        feature_collection(shapes.geometry, properties),
        name=esc(text["population_layer"] + text["paren"].format(text["population_unit"])),
        style_function=lambda f: {
            "color": "#6b6b6b",
            "weight": 0.3,
            "fillColor": f["properties"]["fill"],
            "fillOpacity": 0.6,
        },
        on_each_feature=BIND_TOOLTIP_JS,
    )
    legend_rows = "".join(
        f'<tr><td><span class="circle-swatch" style="background:{colour};'
        f'border-color:#6b6b6b"></span></td>'
        f"<td>{number_text(low)} – {number_text(high)}</td></tr>"
        for colour, low, high in zip(colours, edges[:-1], edges[1:], strict=True)
    )
    section = (
        f"<h5>{esc(text['population_layer'] + text['paren'].format(text['population_unit']))}"
        "</h5>"
        f"<table>{legend_rows}</table>"
    )
    return layer, section


_CHANGE_COLOURS: Final[dict[str, str]] = dict(
    zip(CHANGES, ("#1a9850", "#91cf60", "#fc8d59", "#d73027", "#984ea3"), strict=True)
)
_CAPACITY_COLOURS: Final = ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15")


def _change_layer(
    comparison: Comparison, metric_crs: Any, coords: str, lang: Lang
) -> tuple[folium.GeoJson, str]:
    """Neighbourhoods whose status changed in a scenario, coloured by the direction."""
    text = words("map", lang)
    changed = comparison.changed
    rows = []
    for area_id, group in changed.groupby("area_id", sort=True):
        kind = area_change(group["change"])
        lines = "".join(
            f"<br>{esc(category_label(str(r.category), lang))}: "
            f"{esc(status_word(r.status_base, lang))} → {esc(status_word(r.status_other, lang))}"
            for r in group.itertuples(index=False)
        )
        rows.append(
            {
                "area_id": area_id,
                "fill": _CHANGE_COLOURS[kind],
                "tooltip": f"<b>{esc(group['name'].iloc[0])}</b>{lines}",
                "geometry": group.geometry.iloc[0],
            }
        )
    frame = gpd.GeoDataFrame(
        rows,
        columns=["area_id", "fill", "tooltip", "geometry"],
        geometry="geometry",
        crs="EPSG:4326",
    )
    shapes = display_geometries(frame, metric_crs, coords) if len(frame) else frame
    layer = folium.GeoJson(
        feature_collection(
            shapes.geometry, [{"fill": r["fill"], "tooltip": r["tooltip"]} for r in rows]
        ),
        name=esc(text["changes"]),
        style_function=lambda f: {
            "color": "#333333",
            "weight": 1.5,
            "fillColor": f["properties"]["fill"],
            "fillOpacity": 0.65,
            "className": "circle-change",
        },
        on_each_feature=BIND_TOOLTIP_JS,
    )
    legend_rows = "".join(
        f'<tr><td><span class="circle-swatch" style="background:{colour}"></span></td>'
        f"<td>{esc(text['change_' + kind])}</td></tr>"
        for kind, colour in _CHANGE_COLOURS.items()
    )
    return layer, f"<h5>{esc(text['changes'])}</h5><table>{legend_rows}</table>"


def _capacity_layers(
    result: CoverageResult,
    capacity: CapacityResult,
    table: gpd.GeoDataFrame,
    shapes: gpd.GeoDataFrame,
    lang: Lang,
) -> list[tuple[folium.GeoJson, str]]:
    """Per category with capacities: places per 1,000 residents in quantile classes."""
    text = words("map", lang)
    ratios = capacity.neighbourhoods.set_index("area_id").reindex(table["area_id"].astype(str))
    layers = []
    for category in result.categories:
        column = f"{category}_places_per_1000"
        values = ratios[column].to_numpy(float) if column in ratios else np.array([np.nan])
        if not np.isfinite(values).any():
            continue  # no capacities given for this category
        label = category_label(category, lang)
        # Darkest where the fewest places are: the palette runs from dark to light.
        edges, classes, colours = _quantile_classes(
            values, values[np.isfinite(values)], _CAPACITY_COLOURS[::-1]
        )
        target = capacity.targets.get(category)
        below = ratios.get(f"{category}_below_target")
        shortfall = ratios.get(f"{category}_shortfall_places")
        properties = []
        for i, (name, value) in enumerate(zip(table["name"], values, strict=True)):
            tip = f"<b>{esc(name)}</b><br>{esc(label)}: "
            tip += f"{number_text(value, 2)}" if np.isfinite(value) else "–"
            if target is not None and shortfall is not None and np.isfinite(shortfall.iloc[i]):
                tip += (
                    f"<br>{esc(text['target'])}: {number_text(target, 2)}; "
                    f"{esc(text['shortfall'])}: {number_text(float(shortfall.iloc[i]), 1)}"
                )
            is_below = bool(below.iloc[i]) if below is not None else False
            properties.append(
                {
                    "fill": colours[int(classes[i])] if np.isfinite(value) else "#ffffff",
                    "opacity": 0.6 if np.isfinite(value) else 0.0,
                    "dash": "4 3" if is_below else None,
                    "tooltip": tip,
                }
            )
        name = text["capacity_layer"].format(label=label)
        layer = folium.GeoJson(
            feature_collection(shapes.geometry, properties),
            name=esc(name),
            show=False,
            style_function=lambda f: {
                "color": "#7f0000" if f["properties"]["dash"] else "#6b6b6b",
                "weight": 1.5 if f["properties"]["dash"] else 0.3,
                "dashArray": f["properties"]["dash"],
                "fillColor": f["properties"]["fill"],
                "fillOpacity": f["properties"]["opacity"],
            },
            on_each_feature=BIND_TOOLTIP_JS,
        )
        unit = capacity.units.get(category, "places")
        legend_rows = "".join(
            f'<tr><td><span class="circle-swatch" style="background:{colour}"></span></td>'
            f"<td>{number_text(low, 1)} – {number_text(high, 1)}</td></tr>"
            for colour, low, high in zip(colours, edges[:-1], edges[1:], strict=True)
        )
        note = f"<tr><td></td><td>{esc(text['below_target'])}</td></tr>" if target else ""
        section = (
            f"<h5>{esc(label)}: {esc(text['capacity_unit'].format(unit=unit))}</h5>"
            f"<table>{legend_rows}{note}</table>"
        )
        layers.append((layer, section))
    return layers


def _facility_layers(
    result: CoverageResult,
    colours: dict[str, str],
    coords: str,
    lang: Lang,
) -> list[folium.GeoJson]:
    """One marker layer per category, then one layer of the off-network facilities."""
    text = words("map", lang)
    table = result.facility_table()
    lon, lat = table["lon"].to_numpy(float), table["lat"].to_numpy(float)
    if coords != "wgs84":
        lon, lat = from_wgs84(lon, lat, coords=coords)
    table = table.assign(lon=np.round(lon, COORD_DECIMALS), lat=np.round(lat, COORD_DECIMALS))
    layers = []
    served_key = f"served_{result.people.unit}"
    for category in result.categories:
        label = category_label(category, lang)
        rows = table[(table["category"] == category) & table["on_network"]]
        threshold = threshold_text(result.model, category, lang)
        served_label = esc(text[served_key].format(threshold=threshold))
        properties = [
            {
                "popup": (
                    f"<b>{esc(name)}</b><br>{esc(label)}<br>"
                    f"{served_label}: <b>{number_text(served)}</b>"
                ),
                "tooltip": f"{esc(name)} ({esc(label)})",
            }
            for name, served in zip(rows["name"], rows["served_population"], strict=True)
        ]
        icon = _badge(colours[category], _ICONS.get(category, _CUSTOM_ICON))
        layers.append(
            _point_layer(
                rows,
                properties,
                icon,
                name=f"{text['facilities']} · {label}",
                colour=colours[category],
            )
        )
    off = table[~table["on_network"]]
    off_text = text["off_popup"]
    properties = [
        {
            "popup": (
                f"<b>{esc(name)}</b><br>{esc(category_label(category, lang))}<br>"
                + esc(
                    off_text.format(max_snap=f"{result.model.max_snap_m:g}", snap=f"{snap_m:,.0f}")
                )
            ),
            "tooltip": f"{esc(name)} ({esc(category_label(category, lang))})",
        }
        for name, category, snap_m in zip(off["name"], off["category"], off["snap_m"], strict=True)
    ]
    icon = _badge(_OFF_NETWORK_COLOUR, _OFF_NETWORK_ICON, off=True)
    layers.append(_point_layer(off, properties, icon, name=text["off_network"]))
    return layers


def closed_facilities(comparison: Comparison) -> pd.DataFrame:
    """Facilities of the base that the scenario does not have (by ``id``): the closed ones.

    Rows of the base's :meth:`~circle.coverage.CoverageResult.facility_table`.
    """
    base = comparison.base.facility_table()
    kept = set(comparison.other.facility_table()["id"].astype(str))
    closed: pd.DataFrame = base.loc[~base["id"].astype(str).isin(kept)]
    return closed


def _closed_layer(comparison: Comparison, coords: str, lang: Lang) -> folium.GeoJson:
    """The facilities closed in a scenario, as crossed-out grey badges at their old place."""
    text = words("map", lang)
    table = closed_facilities(comparison)
    lon, lat = table["lon"].to_numpy(float), table["lat"].to_numpy(float)
    if coords != "wgs84":
        lon, lat = from_wgs84(lon, lat, coords=coords)
    table = table.assign(lon=np.round(lon, COORD_DECIMALS), lat=np.round(lat, COORD_DECIMALS))
    properties = [
        {
            "popup": (
                f"<b>{esc(name)}</b><br>{esc(category_label(category, lang))}<br>"
                f"{esc(text['closed_popup'])}"
            ),
            "tooltip": f"{esc(name)} ({esc(text['closed'])})",
        }
        for name, category in zip(table["name"], table["category"], strict=True)
    ]
    icon = _badge(_CLOSED_COLOUR, _CLOSED_ICON, off=True)
    return _point_layer(table, properties, icon, name=text["closed"])


def _point_layer(
    rows: pd.DataFrame,
    properties: list[dict[str, Any]],
    icon_html: str,
    *,
    name: str,
    colour: str = _OFF_NETWORK_COLOUR,
) -> folium.GeoJson:
    """Facilities as badges, or as circle markers in `colour` above :data:`MANY_MARKERS`."""
    geometries = shapely.points(rows["lon"].to_numpy(float), rows["lat"].to_numpy(float))
    half = _MARKER_PX // 2
    marker: folium.Marker | folium.CircleMarker
    if len(rows) > MANY_MARKERS:
        marker = folium.CircleMarker(
            radius=_MARKER_PX // 4,
            color="#ffffff",
            weight=1.5,
            fill=True,
            fill_color=colour,
            fill_opacity=0.95,
            class_name="circle-facility-dot",
        )
    else:
        marker = folium.Marker(
            icon=folium.DivIcon(
                html=icon_html,
                icon_size=(_MARKER_PX, _MARKER_PX),
                icon_anchor=(half, half),
                class_name="circle-facility",
            )
        )
    return folium.GeoJson(
        feature_collection(geometries, properties),
        name=esc(name),
        marker=marker,
        on_each_feature=_BIND_JS,
    )


def _service_area_layers(
    result: CoverageResult,
    areas: gpd.GeoDataFrame,
    colours: dict[str, str],
    lang: Lang,
) -> list[_CompactGeoJson]:
    text = words("map", lang)
    by_category = dict(zip(areas["category"], areas.geometry, strict=True))
    layers = []
    for category in result.categories:
        label = category_label(category, lang)
        threshold = threshold_text(result.model, category, lang)
        name = text["service_area"] + f" · {label}" + text["paren"].format(threshold)
        tooltip = f"{esc(label)}: {esc(text['within_threshold'].format(threshold=threshold))}"
        geometry = by_category.get(category)
        colour = colours[category]
        style = {
            "color": colour,
            "weight": 1.5,
            "opacity": 0.9,
            "fillColor": colour,
            "fillOpacity": _SERVICE_AREA_FILL_OPACITY,
        }
        layers.append(
            _CompactGeoJson(
                [geometry],
                [{"tooltip": tooltip}],
                name=esc(name),
                style_js=f"function() {{ return {json.dumps(style)}; }}",
                bind_js=str(BIND_TOOLTIP_JS),
            )
        )
    return layers


def _legend_html(
    result: CoverageResult,
    colours: dict[str, str],
    lang: Lang,
    extra: str,
    *,
    closed: bool = False,
) -> str:
    text = words("map", lang)
    model = result.model
    speeds = {c: f"{model.profile_for(c).speed_kmh:g}" for c in result.categories}
    one_speed = len(set(speeds.values())) <= 1
    rows = []
    for category in result.categories:
        label = esc(category_label(category, lang))
        colour = colours[category]
        threshold = esc(threshold_text(model, category, lang))
        if not one_speed:
            threshold += " · " + esc(text["speed_for"].format(speed=speeds[category]))
        rows.append(
            f'<tr class="circle-legend-category" data-category="{esc(category)}">'
            f'<td><span class="circle-swatch" style="background:{colour}40;'
            f'border-color:{colour}"></span></td>'
            f"<td>{_badge(colour, _ICONS.get(category, _CUSTOM_ICON))}</td>"
            f"<td>{label}</td><td>{esc(text['threshold'])} {threshold}</td></tr>"
        )
    rows.append(
        f"<tr><td></td><td>{_badge(_OFF_NETWORK_COLOUR, _OFF_NETWORK_ICON, off=True)}</td>"
        f'<td colspan="2">{esc(text["off_network"])}</td></tr>'
    )
    if closed:
        rows.append(
            f"<tr><td></td><td>{_badge(_CLOSED_COLOUR, _CLOSED_ICON, off=True)}</td>"
            f'<td colspan="2">{esc(text["closed"])}</td></tr>'
        )
    mapped = mapped_categories(result)
    left_out = [c for c in result.categories if c not in mapped]
    note = (
        '<div class="circle-no-facilities">'
        + esc(
            text["no_facilities"].format(
                labels=category_labels(
                    left_out, lang, separator=word("report.list_separator", lang)
                )
            )
        )
        + "</div>"
        if left_out
        else ""
    )
    cut = result.cutoffs
    shares = {"covered": f"{cut.covered:.0%}", "uncovered": f"{cut.uncovered:.0%}"}
    status_rows = []
    for status in _STATUS_ORDER:
        style = _STATUS_STYLE[status]
        fill = style["fillColor"] if style["fillOpacity"] > 0.1 else "transparent"
        border = "dashed" if "dashArray" in style else "solid"
        status_rows.append(
            f'<tr><td><span class="circle-swatch" style="background:{fill};'
            f"border-color:{style['color']};border-style:{border};"
            f'border-width:{max(1, round(style["weight"]))}px"></span></td>'
            f"<td>{esc(status_word(status, lang))}</td>"
            f"<td>{esc(text['status_' + status].format(**shares))}</td></tr>"
        )
    speed = (
        f"<div>{esc(text['speed'])}: "
        f"<b>{esc(text['speed_for'].format(speed=speeds[result.categories[0]]))}</b></div>"
        if one_speed and result.categories
        else ""
    )
    return (
        f'<div class="circle-box circle-legend"><h4>{esc(text["legend"])}</h4>{speed}'
        f"<h5>{esc(text['service_area'])} / {esc(text['facilities'])}</h5>"
        f"<table>{''.join(rows)}</table>"
        f"<h5>{esc(text['neighbourhoods'])}</h5>{note}"
        f'<div class="circle-overall-rule">{esc(text["overall_rule"])}</div>'
        f"<table>{''.join(status_rows)}</table>"
        f"{extra}</div>"
    )


def _summary_html(result: CoverageResult, colours: dict[str, str], lang: Lang) -> str:
    text = words("map", lang)
    summary = with_labels(result.summary(), lang)
    rows = []
    for category, label, share, covered, population in zip(
        summary["category"].astype(str),
        summary["label"].astype(str),
        summary["covered_share"].to_numpy(float),
        summary["covered_population"].to_numpy(float),
        summary["population"].to_numpy(float),
        strict=True,
    ):
        colour = colours[category]
        rows.append(
            f'<tr><td><span class="circle-swatch" style="background:{colour};'
            f'border-color:{colour}"></span></td><td>{esc(label)}</td>'
            f"<td><b>{_share(share)}</b></td>"
            f"<td>{number_text(covered)} / {number_text(population)}</td></tr>"
        )
    unit = word(f"people.unit_{result.people.unit}", lang)
    return (
        f'<div class="circle-box circle-summary"><h4>{esc(text["summary"])}</h4>'
        f"<table>{''.join(rows)}</table>"
        f'<div class="circle-unit">{esc(text["unit"].format(unit=unit))}</div></div>'
    )


def _default_title(result: CoverageResult, lang: Lang) -> str:
    model = result.model
    if all(model.is_distance(c) for c in result.categories):
        metres = {round(model.threshold_metres(c), 1) for c in result.categories}
        if len(metres) == 1:
            return words("map", lang)["title_metres"].format(metres=f"{metres.pop():g}")
        return words("map", lang)["title"]
    minutes = {round(model.threshold_minutes(c), 2) for c in result.categories}
    if len(minutes) == 1:
        return words("map", lang)["title_minutes"].format(minutes=f"{minutes.pop():g}")
    return words("map", lang)["title"]


def coverage_map(
    result: CoverageResult,
    service_areas: gpd.GeoDataFrame,
    *,
    lang: Lang = "en",
    tiles: str | None = AUTO_TILES,
    tiles_attribution: str | None = None,
    title: str | None = None,
    show_population: bool = False,
    comparison: Comparison | None = None,
    capacity: CapacityResult | None = None,
    show_grades: bool = False,
) -> folium.Map:
    """A Folium map of service areas, facilities and neighbourhood gaps.

    Layers, each switchable in the layer control: per category its service area (an
    Okabe-Ito colour) and its facilities (a badge with the category's icon; the popup gives
    the people it serves within the threshold); the off-network facilities (grey, not used);
    the neighbourhoods coloured by their overall status over the categories (``uncovered``
    red with a thick outline, ``no residents`` faint), with a tooltip naming the missing
    categories and a popup table of covered share and median and maximum walking minutes
    per category; optionally the population density. A legend, title, summary of covered
    shares and the OpenStreetMap attribution are always shown. Names from input files are
    HTML-escaped. Polygons are simplified by :data:`MAP_SIMPLIFY_M` metres for display.

    Parameters
    ----------
    result
        The coverage to draw.
    service_areas
        Service-area polygons (:func:`circle.isochrones.service_areas`, any CRS).
    lang
        Language of labels, {"en", "zh"}.
    tiles
        Basemap, {"auto", None, "none", "osm", "cartodb", "gaode"} or an XYZ tile URL with
        ``{z}``, ``{x}`` and ``{y}``. ``"auto"`` (default, :data:`AUTO_TILES`) is
        ``"gaode"`` in Chinese and ``"cartodb"`` in English; offline the tiles do not load
        and the map keeps its plain background. ``None`` or ``"none"`` draws no basemap.
        ``"gaode"`` uses AutoNavi tiles, which load in mainland China and are in GCJ-02
        coordinates: every overlay is shifted to GCJ-02 to line up with them.
    tiles_attribution
        Credit line of the tiles; required for a custom URL.
    title
        Title shown at the top; default names the walking time.
    show_population
        Add a choropleth of people (or the population proxy's unit) per km² per
        neighbourhood.
    show_grades
        Add a layer of the ways coloured by their grade, hidden until switched on
        (:func:`grade_layer`; needs a study with a DEM).
    comparison
        A scenario's comparison with its base (`result` is the scenario's coverage): adds
        the layer of neighbourhoods whose status changed (shown; the overall layer is
        then off) and marks the base's facilities the scenario closed.
    capacity
        Places per 1,000 residents per neighbourhood, drawn as a layer per category.

    Returns
    -------
    InlineMap
        A ``folium.Map`` shown inline in Jupyter without the internet (Leaflet inlined);
        write it with :func:`save_map`.

    Raises
    ------
    InputError
        `lang` or `tiles` is not one of the allowed values, a custom tile URL has no
        `tiles_attribution`, or `service_areas` has no CRS.
    """
    lang = check_lang(lang)
    basemap = resolve_basemap(tiles, tiles_attribution, lang=lang)
    chosen = choose_tiles(tiles, lang)
    coords = basemap.coords if basemap else "wgs84"
    model = result.model
    metric_crs = model.graph.crs
    categories = result.categories
    colours = {c: category_colour(c, categories) for c in categories}

    if service_areas.crs is None:
        msg = "`service_areas` has no CRS; set it, e.g. `.set_crs('EPSG:4326')`."
        raise InputError(msg)
    areas = display_geometries(service_areas, metric_crs, coords)
    table = result.neighbourhood_table()
    shapes = display_geometries(table, metric_crs, coords)

    west, south, east, north = shapes.total_bounds
    if not np.isfinite([west, south, east, north]).all():
        west, south, east, north = areas.total_bounds
    m = InlineMap(
        location=[(south + north) / 2, (west + east) / 2],
        zoom_start=14,
        tiles=None,
        control_scale=False,  # folium's scale shows feet too; _Decorations adds a metric one
    )
    if basemap is not None:
        folium.TileLayer(
            tiles=basemap.url,
            attr=basemap.attribution,
            name=chosen if chosen in _BASEMAPS else "tiles",
            subdomains=basemap.subdomains,
            max_zoom=19,
            overlay=False,
            control=False,
        ).add_to(m)

    population_legend = ""
    if show_population:
        layer, population_legend = _population_layer(
            table, shapes, metric_crs, lang, result.people.unit
        )
        layer.add_to(m)
    for layer in _service_area_layers(result, areas, colours, lang):
        layer.add_to(m)
    neighbourhoods = _neighbourhood_layer(result, table, shapes, lang, show=comparison is None)
    neighbourhoods.add_to(m)
    for layer in _category_status_layers(result, neighbourhoods, lang):
        layer.add_to(m)
    for layer in _facility_layers(result, colours, coords, lang):
        layer.add_to(m)
    extra_legend = ""
    if capacity is not None:
        for layer, section in _capacity_layers(result, capacity, table, shapes, lang):
            layer.add_to(m)
            extra_legend += section
    closed = comparison is not None and not closed_facilities(comparison).empty
    if comparison is not None:
        layer, section = _change_layer(comparison, metric_crs, coords, lang)
        layer.add_to(m)
        extra_legend += section
        if closed:
            _closed_layer(comparison, coords, lang).add_to(m)
    if show_grades:
        layer, section = grade_layer(model, coords, lang)
        layer.add_to(m)
        extra_legend += section
    folium.LayerControl(collapsed=False).add_to(m)

    title_text = _default_title(result, lang) if title is None else title
    body = (
        f'<div class="circle-box circle-title">{esc(title_text)}</div>'
        + _legend_html(result, colours, lang, population_legend + extra_legend, closed=closed)
        + _summary_html(result, colours, lang)
    )
    credit = attribution(lang).replace("OpenStreetMap", _OSM_LINK, 1)
    _Decorations(body, credit, _page_text(result, lang)).add_to(m)
    if np.isfinite([west, south, east, north]).all():
        m.fit_bounds([[south, west], [north, east]])
    return m


#: Height of a map shown inline in a notebook (pixels).
INLINE_HEIGHT_PX: Final = 600


def inline_frame(page: str, *, height_px: int = INLINE_HEIGHT_PX) -> str:
    """`page` in an ``<iframe srcdoc>``, for showing a whole HTML page inside a notebook."""
    return (
        f'<iframe srcdoc="{html.escape(page, quote=True)}" width="100%" height="{height_px}" '
        'style="border:none;" allowfullscreen></iframe>'
    )


class InlineMap(folium.Map):
    """A ``folium.Map`` whose notebook view needs no internet.

    folium shows a map in Jupyter as a page that loads Leaflet and its plugins from public
    CDNs: blank offline, and unreliable in mainland China. This map's notebook view is the
    page of :func:`map_html`, with those scripts and stylesheets inlined from circle's
    copies. Everything else is folium's.
    """

    def _repr_html_(self, **_kwargs: Any) -> str:
        return inline_frame(map_html(self))


class _InlineView:
    """What :func:`show` returns: a page that Jupyter shows in an iframe."""

    def __init__(self, page: str) -> None:
        self.page = page

    def _repr_html_(self) -> str:
        return inline_frame(self.page)


def show(m: folium.Map) -> _InlineView:
    """Show any ``folium.Map`` in a notebook without the internet (Leaflet inlined).

    Maps of :func:`coverage_map` (and ``Study.map()``) already show this way; use this for
    a plain ``folium.Map``, e.g. ``circle.maps.show(m)`` as a cell's last line.

    Raises
    ------
    circle._inline.UnvendoredAssetError
        If the map links a script or stylesheet that circle does not ship.
    """
    return _InlineView(map_html(m))


def map_html(m: folium.Map, *, cdn: bool = False) -> str:
    """The whole HTML page of `m`, self-contained unless `cdn`.

    Parameters
    ----------
    m
        A map, e.g. from :func:`coverage_map`.
    cdn
        Link Leaflet and the other scripts and stylesheets from their CDNs (a smaller page
        that needs the internet) instead of inlining circle's copies.

    Returns
    -------
    str
        The page; without `cdn` it loads no script or stylesheet from the internet.

    Raises
    ------
    circle._inline.UnvendoredAssetError
        Without `cdn`, if the map links a script or stylesheet that circle does not ship.
    """
    root = m.get_root()
    page, payloads = _set_aside(root, root.render())
    page = _stable_ids(root, page)
    if not cdn:
        page = inline_assets(page)
    return _put_back(page, payloads)


#: Marks a payload set aside by :func:`_set_aside` (a character no page of circle holds).
_ASIDE: Final = "\x00"


def _set_aside(root: Any, page: str) -> tuple[str, list[tuple[str, str]]]:
    """`page` with each polygon layer's data (:class:`_RawScript` payloads) set aside.

    Numbering element ids and inlining assets scan the page with regular expressions; the
    data, most of a large map's page, holds no element id and no tag (it is JSON inside a
    ``<script>``, ``</`` escaped), so each is swapped for a short token and put back after.
    Returns the page and the (token, payload) pairs; none where the page holds the marker.
    """
    if _ASIDE in page:
        return page, []
    spans: list[tuple[int, int]] = []
    # The scripts are children of the page's script section (outside the element tree).
    for element in _elements(root):
        if isinstance(element, _RawScript) and element.payload:
            start = page.find(element.text)
            if start >= 0:
                start += element.text.index(element.payload)
                spans.append((start, start + len(element.payload)))
    parts: list[str] = []
    payloads: list[tuple[str, str]] = []
    position = 0
    for start, end in sorted(spans):
        if start < position:  # cannot happen: each script's text is in the page once
            continue
        token = f"{_ASIDE}{len(payloads)}{_ASIDE}"
        parts += [page[position:start], token]
        payloads.append((token, page[start:end]))
        position = end
    parts.append(page[position:])
    return "".join(parts), payloads


def _put_back(page: str, payloads: list[tuple[str, str]]) -> str:
    """:func:`_set_aside`'s `page` with its payloads back in place of the tokens."""
    if not payloads:
        return page
    pieces = page.split(_ASIDE)
    if len(pieces) != 2 * len(payloads) + 1:
        msg = "a map payload was lost or repeated while the page was finished"
        raise RuntimeError(msg)
    text_of = {token.strip(_ASIDE): payload for token, payload in payloads}
    pieces[1::2] = [text_of[key] for key in pieces[1::2]]
    return "".join(pieces)


#: Sections of a branca ``Figure`` or folium ``Popup``: elements kept outside ``_children``
#: (a popup's content, e.g. the ``Html`` named ``html_<id>``; what a page's render adds).
_SECTIONS: Final = ("header", "html", "script")


def _elements(root: Any) -> list[Any]:
    """`root` and every element under it: its tree, then what its elements' sections hold.

    The tree (``_children``) comes first, in breadth-first order; then, in the same order,
    the elements held in each element's :data:`_SECTIONS` (a ``Figure``'s or a ``Popup``'s),
    with their own trees and sections. Each element is listed once.
    """
    elements = [root]
    seen = {id(root)}

    def add(element: Any) -> None:
        if id(element) not in seen:
            seen.add(id(element))
            elements.append(element)

    for element in elements:  # the tree
        for child in getattr(element, "_children", {}).values():
            add(child)
    for element in elements:  # the sections, and what is under them
        for name in _SECTIONS:
            section = getattr(element, name, None)
            if isinstance(section, Element):
                add(section)
        for child in getattr(element, "_children", {}).values():
            add(child)
    return elements


#: A folium/branca element id: 32 hexadecimal digits (a random UUID by default).
_ELEMENT_ID = re.compile(r"[0-9a-f]{32}")


def _stable_ids(root: Any, page: str) -> str:
    """`page` with each element's random id replaced by its number in the element tree.

    folium names every element with a random UUID, so two renderings of one map differ;
    numbering the elements in the order of :func:`_elements` (after rendering, which may
    add elements), sections included (a popup's ``html_<id>``), makes the same map give the
    same bytes. The numbers are unique, and every mention of an id (a JS variable, an
    element's ``id``, ``setContent(html_...)``) gets the same one.
    """
    ids: dict[str, str] = {}
    for element in _elements(root):
        ids.setdefault(element._id, f"{len(ids):032x}")
    return _ELEMENT_ID.sub(lambda found: ids.get(found.group(), found.group()), page)


def save_map(m: folium.Map, path: str | os.PathLike[str], *, cdn: bool = False) -> Path:
    """Write `m` as one HTML file (atomically: readers never see half a file).

    Parameters
    ----------
    m
        A map, e.g. from :func:`coverage_map`.
    path
        The file to write; its folder is created if missing.
    cdn
        See :func:`map_html`.

    Returns
    -------
    Path
        `path`.
    """
    page = map_html(m, cdn=cdn)
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    logger.info("wrote map %s (%.1f MB)", target, len(page.encode("utf-8")) / 1e6)
    return target


#: Classes of the grade layer, in per cent of |grade|: up to 2 % feels flat; up to 5 % (1:20)
#: a way is a walk, not a ramp (2010 ADA Standards 403.3); 8.33 % (1:12) is the steepest new
#: ramp they allow (405.2); 12 % and more is steep even for walkers without a wheelchair.
GRADE_CLASS_EDGES_PCT: Final[tuple[float, ...]] = (2.0, 5.0, 8.33, 12.0)
_GRADE_COLOURS: Final = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
_STEPS_COLOUR: Final = "#6a3d9a"


def grade_layer(model: AccessModel, coords: str, lang: Lang) -> tuple[folium.GeoJson, str]:
    """A layer of the ways coloured by their grade (hidden until switched on), and its legend.

    Each way's grade is the one the engine walked (see :class:`circle.terrain.DirectedCosts`:
    0 on bridges and tunnels), drawn by its size, not its direction, in the classes of
    :data:`GRADE_CLASS_EDGES_PCT`; steps are drawn apart. Ways are merged per class, so the
    layer holds one feature per class.

    Parameters
    ----------
    model
        The travel-time model of a study with a DEM.
    coords
        {"wgs84", "gcj02", "bd09"}: the coordinates of the map's overlays.
    lang
        {"en", "zh"}.

    Returns
    -------
    tuple of (folium.GeoJson, str)
        The layer and its legend section (HTML).

    Raises
    ------
    InputError
        The model was built without a DEM.
    """
    terrain = model.terrain
    if terrain is None or terrain.dem is None:
        msg = "the grade layer needs slopes: load the study with a DEM (`--dem`)."
        raise InputError(msg)
    text = words("map", lang)
    grade_pct = np.abs(terrain.grade) * 100.0
    classes = np.searchsorted(GRADE_CLASS_EDGES_PCT, grade_pct, side="right")
    classes = np.where(terrain.is_steps, len(_GRADE_COLOURS), classes)
    bounds = (0.0, *GRADE_CLASS_EDGES_PCT)
    labels = [f"{low:g} – {high:g} %" for low, high in itertools.pairwise(bounds)]
    labels += [f"≥ {bounds[-1]:g} %", text["grade_steps"]]
    colours = [*_GRADE_COLOURS, _STEPS_COLOUR]
    present = [k for k in range(len(colours)) if (classes == k).any()]
    lines = [shapely.multilinestrings(model.graph.edge_geometry[classes == k]) for k in present]
    shown = display_geometries(
        gpd.GeoDataFrame(geometry=lines, crs=model.graph.crs), model.graph.crs, coords
    )
    properties = [{"colour": colours[k], "tooltip": esc(labels[k])} for k in present]
    name = text["grade_layer"]
    layer = folium.GeoJson(
        feature_collection(shown.geometry, properties),
        name=esc(name),
        show=False,
        style_function=lambda f: {
            "color": f["properties"]["colour"],
            "weight": 3,
            "opacity": 0.9,
        },
        on_each_feature=BIND_TOOLTIP_JS,
    )
    rows = "".join(
        f'<tr><td><span class="circle-swatch" style="background:{colour};'
        f'border-color:{colour}"></span></td><td>{esc(label)}</td></tr>'
        for colour, label in zip(colours, labels, strict=True)
    )
    note = esc(text["grade_note"].format(dem=terrain.dem.description))
    section = f"<h5>{esc(name)}</h5><table>{rows}</table><p>{note}</p>"
    return layer, section
