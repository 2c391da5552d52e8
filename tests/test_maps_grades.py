"""The optional map layer of way grades: classes worked out by hand on a tilted block."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from circle.errors import InputError
from circle.maps import GRADE_CLASS_EDGES_PCT, grade_layer, map_html
from circle.study import Study
from tests.conftest import METRIC_CRS, X0, Y0, make_network, plane_raster, square

pytest.importorskip("rasterio")


def _block_study(tmp_path, **options) -> Study:
    """The block of tests/test_step_free.py on a plane rising 3 % toward +x and 9 % toward +y.

    e0 (0,0)-(300,0) and e2 (300,400)-(0,400) run along x: |grade| 3 % (class 2-5 %);
    e1 (300,0)-(300,400) runs along y: 9 % (class 8.33-12 %); e3 is steps (its own class).
    """
    network = make_network(
        {0: (0.0, 0.0), 1: (300.0, 0.0), 2: (300.0, 400.0), 3: (0.0, 400.0)},
        [(0, 1), (1, 2), (2, 3), (0, 3)],
    )
    network.edges["highway"] = ["footway", "footway", "footway", "steps"]
    facilities = gpd.GeoDataFrame(
        {"id": ["c"], "name": ["c"], "category": ["clinic"]},
        geometry=[shapely.Point(X0 + 100, Y0 + 410)],
        crs=METRIC_CRS,
    )
    areas = gpd.GeoDataFrame({"id": ["b"]}, geometry=[square(-50, -50, 350, 450)], crs=METRIC_CRS)
    return Study.load(
        network,
        facilities,
        areas=areas,
        population_proxy="network",
        categories=["clinic"],
        **options,
    )


def test_ways_are_coloured_by_the_size_of_their_grade(tmp_path):
    dem = plane_raster(
        tmp_path / "tilt.tif",
        crs=METRIC_CRS,
        origin=(X0, Y0),
        slope_x=0.03,
        slope_y=0.09,
        size=200,
    )
    study = _block_study(tmp_path, dem=dem)
    np.testing.assert_allclose(np.abs(study.terrain.grade), [0.03, 0.09, 0.03, 0.0], atol=1e-9)
    layer, legend = grade_layer(study.access(), "wgs84", "en")
    features = layer.data["features"]
    # One feature per class present: 2-5 % (e0 and e2 merged), 8.33-12 %, steps.
    assert [f["properties"]["tooltip"] for f in features] == ["2 – 5 %", "8.33 – 12 %", "steps"]
    drawn = [shapely.geometry.shape(f["geometry"]) for f in features]
    assert [shapely.get_num_geometries(g) for g in drawn] == [2, 1, 1]
    stairs = shapely.LineString([(X0, Y0), (X0, Y0 + 400)])
    stairs = gpd.GeoSeries([stairs], crs=METRIC_CRS).to_crs("EPSG:4326")[0]
    assert shapely.hausdorff_distance(drawn[2], stairs) < 1e-5
    assert layer.show is False  # hidden until switched on
    for label in ("0 – 2 %", "5 – 8.33 %", f"≥ {GRADE_CLASS_EDGES_PCT[-1]:g} %", "tilt.tif"):
        assert label in legend
    html = map_html(study.map(show_grades=True))
    assert "Slope of the ways" in html
    assert "Slope of the ways" not in map_html(study.map())
    zh = map_html(study.map(show_grades=True, lang="zh"))
    assert "道路坡度" in zh
    assert "台阶" in zh


def test_the_grade_layer_needs_a_dem(tmp_path):
    study = _block_study(tmp_path, steps_factor=0.5)
    with pytest.raises(InputError, match="needs slopes"):
        study.map(show_grades=True)
