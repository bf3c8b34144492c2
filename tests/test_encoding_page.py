"""The encoding page's computations (ctxlib.book.encoding) on hand-made fields and tables."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from ctxlib.book.encoding import (SUMMARY_COLUMNS, brighter_columns, column_examples, encode_fields, feature_table,
                                  sublattice_summary)
from ctxlib.encoding.zernike import zernike_moments
from ctxlib.materials.imaging import ImagingContext
from ctxlib.materials.motifs import host_cell

SAMPLING = (0.1, 0.1)  # Angstrom per pixel along x and y


def _field(cell, tiles, weights):
    """Gaussian columns at the cell's projected positions, tiled; array indexed (x, y) as abTEM's; also the W and Se
    column centres, Angstrom."""
    lengths = np.diag(cell.cell)[:2]
    extent = lengths * tiles
    shape = np.round(extent / SAMPLING).astype(int)
    x, y = np.meshgrid(np.arange(shape[0]) * SAMPLING[0], np.arange(shape[1]) * SAMPLING[1], indexing="ij")
    shifts = np.stack(np.meshgrid(np.arange(tiles[0]), np.arange(tiles[1]), indexing="ij"), -1).reshape(-1, 2) * lengths
    centres = {}
    for symbol in ("W", "Se"):
        xy = np.unique(np.round(cell.positions[[a.symbol == symbol for a in cell]][:, :2], 3), axis=0)
        centres[symbol] = (xy[None] + shifts[:, None]).reshape(-1, 2)
    array = np.zeros(shape)
    for symbol, positions in centres.items():
        for px, py in positions:
            dx = (x - px + extent[0] / 2) % extent[0] - extent[0] / 2  # periodic: the field is a whole number of cells
            dy = (y - py + extent[1] / 2) % extent[1] - extent[1] / 2
            array += weights[symbol] * np.exp(-(dx**2 + dy**2) / (2 * 0.35**2))
    return SimpleNamespace(array=array, sampling=SAMPLING), centres


@pytest.fixture(scope="module")
def wse2_fields():
    cell = host_cell("WSe2")
    haadf, centres = _field(cell, (8, 5), {"W": 1.0, "Se": 0.7})
    maadf, _ = _field(cell, (8, 5), {"W": 0.6, "Se": 1.0})  # the other sublattice brighter
    encodings = encode_fields({"HAADF": haadf, "MAADF": maadf}, ImagingContext("WSe2", "Cr", energy_kev=80), cell,
                              pixel_size=0.1)
    return encodings, centres


def test_encode_fields_names_each_site_by_the_column_placed_there(wse2_fields):
    encodings, centres = wse2_fields
    assert list(encodings) == ["HAADF", "MAADF"]
    for encoding in encodings.values():
        table = encoding.table
        xy = table[["row", "col"]].to_numpy() * SAMPLING
        # by hand: the nearest rendered column of each kind (no periodic images needed away from the edges)
        inner = ~table["edge"].to_numpy()
        near = {s: np.hypot(*(xy[:, None] - c[None]).transpose(2, 0, 1)).min(axis=1) for s, c in centres.items()}
        expected = np.where(near["W"] < near["Se"], "W", "Se2")
        assert len(table) > 100 and (table["column"].to_numpy()[inner] == expected[inner]).all()
        assert (np.minimum(near["W"], near["Se"])[inner] < 0.5).all()
        assert table.groupby("column")["sublattice"].nunique().eq(1).all()  # each column type on one sublattice


def test_the_summary_and_the_brighter_column_follow_the_detector(wse2_fields):
    encodings, _ = wse2_fields
    summary = sublattice_summary(encodings)
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    haadf = encodings["HAADF"].table
    for column in ("W", "Se2"):  # by hand: the mean over the sites of that column
        assert summary.loc[("HAADF", column), "centre_intensity"] == pytest.approx(
            haadf.loc[haadf["column"] == column, "centre_intensity"].mean())
    assert brighter_columns(summary) == {"HAADF": "W", "MAADF": "Se2"}
    features = feature_table(encodings)
    assert features.index.names[0] == "detector"
    assert len(features) == len(encodings["HAADF"].table) + len(encodings["MAADF"].table)
    pd.testing.assert_frame_equal(features.loc["MAADF"], encodings["MAADF"].table)


def test_sublattice_summary_and_brighter_columns_on_hand_made_tables():
    def table(columns, bright, intensity):
        return pd.DataFrame({"column": columns, "sublattice": [1 - b for b in bright], "centre_intensity": intensity,
                             "site:bright": bright, "site:dim": [1 - b for b in bright], "edge": False})

    encodings = {"MAADF": SimpleNamespace(table=table(["W", "Se2", "W", "Se2"], [0, 1, 0, 1], [1.0, 2.0, 3.0, 5.0])),
                 "HAADF": SimpleNamespace(table=table(["Se2", "W", "W"], [0, 1, 1], [0.5, 4.0, 6.0]))}
    summary = sublattice_summary(encodings)
    assert summary.index.tolist() == [("MAADF", "Se2"), ("MAADF", "W"), ("HAADF", "Se2"), ("HAADF", "W")]
    assert summary["centre_intensity"].tolist() == [3.5, 2.0, 0.5, 5.0]
    assert summary["site:bright"].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert brighter_columns(summary) == {"MAADF": "Se2", "HAADF": "W"}
    assert list(brighter_columns(summary)) == ["MAADF", "HAADF"]


def test_column_examples_draw_one_patch_of_each_column_type():
    rng = np.random.default_rng(1)
    columns = np.array(["Se2", "W", "Se2", "", "W", "W", "Se2"])
    patches = rng.normal(size=(len(columns), 32, 32))
    encoding = SimpleNamespace(table=pd.DataFrame({"column": columns}), patches=patches)
    chosen, moments = column_examples(encoding, rng=np.random.default_rng(0))
    assert list(chosen) == list(moments) == ["Se2", "W", ""]  # in the order the table first names them
    draw = np.random.default_rng(0)  # by hand: one draw per type, in that order
    for name in ("Se2", "W", ""):
        k = draw.choice(np.flatnonzero(columns == name))
        assert np.array_equal(chosen[name], patches[k])
    np.testing.assert_allclose(np.stack(list(moments.values())), zernike_moments(np.stack(list(chosen.values()))),
                               rtol=1e-10, atol=1e-12)
    seen = {int(np.flatnonzero((patches == column_examples(encoding, rng=np.random.default_rng(s))[0]["W"]).all(
        axis=(1, 2)))[0]) for s in range(40)}
    assert seen == {1, 4, 5}  # every W site can be drawn, and only those
