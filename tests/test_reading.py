"""Reading micrographs with their pixel size, and the `ctxlib classify` command."""

import numpy as np
import pandas as pd
import pytest
from conftest import honeycomb_sites, render

from ctxlib.learning.pretrained import export_weights
from ctxlib.learning.training import Checkpoint, TrainingConfig, batches, train
from ctxlib.micrographs.cli import main
from ctxlib.micrographs.reading import read_micrograph


def _signal(data, scale, units):
    axes = [{"name": n, "size": s, "offset": 0, "scale": scale, "units": units, "index_in_array": i, "navigate": False}
            for i, (n, s) in enumerate(zip("yx", data.shape))]
    return {"data": data, "axes": axes, "metadata": {"General": {"title": "test"}, "Signal": {"signal_type": ""}},
            "original_metadata": {}}


@pytest.mark.parametrize("suffix, plugin", [(".tif", "tiff"), (".emd", "emd")])
def test_calibrated_files_give_the_pixel_size_in_angstrom(tmp_path, suffix, plugin):
    from importlib import import_module

    data = np.random.default_rng(0).random((40, 50)).astype(np.float32)
    import_module(f"rsciio.{plugin}").file_writer(str(tmp_path / f"a{suffix}"), _signal(data, 0.015, "nm"))
    micrograph = read_micrograph(tmp_path / f"a{suffix}")
    assert micrograph.pixel_size == pytest.approx(0.15) and np.allclose(micrograph.image, data)
    assert read_micrograph(tmp_path / f"a{suffix}", pixel_size=0.2).pixel_size == 0.2


def test_npy_needs_a_stated_pixel_size_and_bad_input_is_named(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((20, 20)))
    assert read_micrograph(tmp_path / "a.npy").pixel_size is None
    image = np.ones((20, 20))
    image[3, 4] = np.nan
    np.save(tmp_path / "nan.npy", image)
    with pytest.raises(ValueError, match="has 1 NaN or infinite pixels"):
        read_micrograph(tmp_path / "nan.npy")
    np.save(tmp_path / "cube.npy", np.ones((2, 20, 20)))
    with pytest.raises(ValueError, match="not a 2-D image"):
        read_micrograph(tmp_path / "cube.npy")
    with pytest.raises(ValueError, match="suffix '.png' is not one of .dm3, .dm4, .emd"):
        read_micrograph(tmp_path / "a.png")
    with pytest.raises(ValueError, match="pixel size must be positive"):
        read_micrograph(tmp_path / "a.npy", pixel_size=-1)


def test_classify_command_writes_a_table_and_an_overlay(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 31)).astype(np.float32), rng.integers(0, 5, 300)
    config = TrainingConfig("MLP-Simple", epochs=1, batch_size=50)
    model, history = train(config, lambda r: batches(X, y, 50, r), progress=False)
    export_weights({"MLP-Simple": Checkpoint(model, config, history, {})}, "quick", 0, {}, tmp_path / "weights")
    pixel, a = 0.15, 3.282
    metal, chalcogen = honeycomb_sites(a, 200 * pixel)
    np.save(tmp_path / "wse2.npy", render([metal, chalcogen], [1.0, 0.7], 200, pixel))
    common = ["classify", str(tmp_path / "wse2.npy"), "--host", "WSe2", "--detector", "HAADF", "--energy", "80",
              "--pixel-size", "0.15", "--weights", str(tmp_path / "weights"), "-o", str(tmp_path / "out")]
    assert main(common + ["--dopant", "Ti"]) == 0
    table = pd.read_csv(tmp_path / "out" / "wse2_columns.csv")
    assert list(table.columns[:6]) == ["x", "y", "sublattice", "filled", "class", "label"] and len(table) > 50
    assert (tmp_path / "out" / "wse2_overlay.png").stat().st_size > 10_000
    assert main(common + ["--dopant", "none"]) == 0
    assert "not one of the 96 doped hosts" in capsys.readouterr().err
    assert main(common[:-2] + ["--dopant", "Ti", "--pixel-size", "0.5", "-o", str(tmp_path / "o2")]) == 2
    assert "does not match WSe2's" in capsys.readouterr().err
