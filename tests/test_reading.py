"""Reading micrographs with their pixel size, and the `ctxlib classify` command."""

import json
import subprocess
import sys

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
    with pytest.raises(ValueError, match="suffix '.bmp' is not one of .dm3, .dm4, .emd"):
        read_micrograph(tmp_path / "a.bmp")
    with pytest.raises(FileNotFoundError, match="file not found: .*nope.npy"):
        read_micrograph(tmp_path / "nope.npy")
    with pytest.raises(ValueError, match="pixel size must be positive"):
        read_micrograph(tmp_path / "a.npy", pixel_size=-1)


def test_classify_command_on_a_folder_of_mixed_files(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 31)).astype(np.float32), rng.integers(0, 5, 300)
    config = TrainingConfig("MLP-Simple", epochs=1, batch_size=50)
    model, history = train(config, lambda r: batches(X, y, 50, r), progress=False)
    export_weights({"MLP-Simple": Checkpoint(model, config, history, {})}, "quick", 0, {}, tmp_path / "weights")
    pixel, a = 0.15, 3.282
    metal, chalcogen = honeycomb_sites(a, 200 * pixel)
    image = render([metal, chalcogen], [1.0, 0.7], 200, pixel)
    folder = tmp_path / "images"
    folder.mkdir()
    np.save(folder / "wse2.npy", image)
    from PIL import Image

    Image.fromarray((image / image.max() * 255).astype(np.uint8)).save(folder / "export.png")
    np.savez(folder / "stack.npz", degraded=np.stack([image, image]), pixel_size=np.array([pixel, pixel]))
    np.save(folder / "noise.npy", rng.random((200, 200)))
    common = ["--host", "WSe2", "--detector", "HAADF", "--energy", "80", "--weights", str(tmp_path / "weights"),
              "-q", "-o", str(tmp_path / "out")]
    status = main(["classify", str(folder / "*"), str(folder / "missing.tif"), "--dopant", "Ti", *common])
    assert status == 1  # two of the five failed
    err = capsys.readouterr().err
    assert "noise.npy: no lattice found" in err or "noise.npy: the image is mostly not crystal" in err
    assert "file not found: " + str(folder / "missing.tif") in err
    summary = pd.read_csv(tmp_path / "out" / "summary.csv").set_index("image")
    assert summary["status"].to_dict() == {str(folder / n): s for n, s in [
        ("export.png", "ok"), ("noise.npy", "failed"), ("stack.npz", "ok"), ("wse2.npy", "ok"),
        ("missing.tif", "failed")]}
    assert summary.loc[str(folder / "wse2.npy"), "pixel size from"] == "host lattice"
    assert summary.loc[str(folder / "stack.npz"), "pixel size from"] == "stated"
    assert summary.loc[str(folder / "wse2.npy"), "pixel size (A)"] == pytest.approx(pixel, rel=0.01)
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert not any(name.startswith("noise") for name in written)  # nothing for a failed image
    assert {"wse2_columns.csv", "wse2_columns.json", "wse2_overlay.png", "export_columns.csv"} <= set(written)
    table = pd.read_csv(tmp_path / "out" / "wse2_columns.csv")
    assert list(table.columns[:8]) == ["x", "y", "sublattice", "domain", "has_peak", "edge", "boundary", "class"]
    sidecar = json.loads((tmp_path / "out" / "wse2_columns.json").read_text())
    assert sidecar["columns"]["x"].startswith("pixels") and sidecar["pixel_size_source"] == "host lattice"
    assert sidecar["context"] == {"host": "WSe2", "dopant": "Ti", "detector": "HAADF", "energy_kev": 80}
    assert main(["classify", str(folder / "wse2.npy"), "--dopant", "none", *common]) == 0
    assert "not one of the 96 doped hosts" in capsys.readouterr().err
    assert main(["classify", str(folder / "wse2.npy"), "--dopant", "Ti", "--pixel-size", "0.5", *common]) == 1
    assert "does not match WSe2's" in capsys.readouterr().err
    assert main(["classify", str(folder / "wse2.npy"), "--dopant", "Ti", *common[:3], "ABF", *common[4:]]) == 2
    assert "--detector 'ABF' is not one of HAADF, MAADF" in capsys.readouterr().err


def test_help_is_plain_names_the_catalog_and_imports_nothing_heavy():
    from ctxlib.learning.spec import CONTEXT_MODELS
    from ctxlib.materials.catalog import DETECTORS, ENERGIES_KEV
    from ctxlib.micrographs import cli

    assert cli.DETECTOR_NAMES == tuple(DETECTORS) and cli.ENERGY_VALUES == tuple(ENERGIES_KEV)
    text = cli.build_parser()._subparsers._group_actions[0].choices["classify"].format_help()
    assert "``" not in text and "(default: MLP-Simple)" in text and "(default: classified)" in text
    assert all(name in text for name in CONTEXT_MODELS) and cli.DEFAULT_MODEL in CONTEXT_MODELS
    code = "import sys, ctxlib.micrographs.cli as c; c.build_parser(); print(sorted({'numpy', 'pandas', 'torch'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
