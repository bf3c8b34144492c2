"""Reading micrographs with their pixel size, and the `ctxlib classify` command."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import honeycomb_sites, render, untrained_weights

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
    untrained_weights(tmp_path / "weights", ("MLP-Simple",))
    pixel = 0.15
    image, folder = _wse2_image(tmp_path, "wse2.npy")
    from PIL import Image

    Image.fromarray((image / image.max() * 255).astype(np.uint8)).save(folder / "export.png")
    np.savez(folder / "stack.npz", degraded=np.stack([image, image]), pixel_size=np.array([pixel, pixel]))
    np.save(folder / "noise.npy", rng.random((200, 200)))
    common = ["--host", "WSe2", "--detector", "HAADF", "--energy", "80", "--weights", str(tmp_path / "weights"),
              "--model", "MLP-Simple", "-q", "-o", str(tmp_path / "out")]
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
    assert "not one of the" not in capsys.readouterr().err  # an undoped host is a trained context
    assert main(["classify", str(folder / "wse2.npy"), "--dopant", "Re", *common]) == 0
    assert "WSe2 with dopant Re is not one of the 109" in capsys.readouterr().err
    assert main(["classify", str(folder / "wse2.npy"), "--dopant", "Ti", "--pixel-size", "0.5", *common]) == 1
    assert "does not match WSe2's" in capsys.readouterr().err
    assert main(["classify", str(folder / "wse2.npy"), "--dopant", "Ti", *common[:3], "ABF", *common[4:]]) == 1
    assert "--detector 'ABF' is not one of HAADF, MAADF" in capsys.readouterr().err
    summary = pd.read_csv(tmp_path / "out" / "summary.csv").set_index("image")
    assert len(summary) == 5 and summary.loc[str(folder / "wse2.npy"), "status"] == "failed"  # rows kept, one replaced


def test_a_settings_file_reaches_the_encoder_and_the_trust_rule_and_a_bad_one_is_named(tmp_path, capsys):
    _, folder = _wse2_image(tmp_path, "wse2.npy")
    common = ["classify", str(folder / "wse2.npy"), "--host", "WSe2", "--dopant", "Ti", "--detector", "HAADF",
              "--energy", "80", *_one_model_weights(tmp_path / "weights"), "-o", str(tmp_path / "out")]
    settings = tmp_path / "settings.toml"
    settings.write_text("[encoding]\npeak_threshold = 0.2\n\n[encoding.sites]\ntile_cells = 8\n\n"
                        "[trust]\nmin_agreement = 0.6\nwarn_share = 0.5\n")
    assert main([*common, "--settings", str(settings)]) == 0
    sidecar = json.loads((tmp_path / "out" / "wse2_columns.json").read_text())
    assert sidecar["encoding"]["peak_threshold"] == 0.2 and sidecar["encoding"]["sites"]["tile_cells"] == 8
    assert sidecar["trust"]["min_agreement"] == 0.6 and sidecar["trust"]["warn_share"] == 0.5
    assert main([*common, "--settings", str(settings), "--min-agreement", "1.0"]) == 0  # the option wins
    assert json.loads((tmp_path / "out" / "wse2_columns.json").read_text())["trust"]["min_agreement"] == 1.0
    capsys.readouterr()
    for text, message in [("[trust]\nmin_agreement = 2\n", "min_agreement = 2 must be a number in [0, 1]"),
                          ("[encoding]\npeak_treshold = 0.2\n", "EncodingSettings has no setting 'peak_treshold'"),
                          ("[colours]\nX2 = 1\n", "no table [colours]"),
                          ("[trust\n", "cannot be read as TOML")]:
        settings.write_text(text)
        (tmp_path / "out" / "wse2_columns.json").unlink(missing_ok=True)
        assert main([*common, "--settings", str(settings)]) == 1
        err = capsys.readouterr().err
        assert message in err and str(settings) in err, err
        assert not (tmp_path / "out" / "wse2_columns.json").exists()  # nothing written for a refused command


def test_help_is_plain_names_the_catalog_and_imports_nothing_heavy():
    from ctxlib.learning.spec import CONTEXT_MODELS
    from ctxlib.micrographs.classify import ENSEMBLE, TrustSettings
    from ctxlib.materials.catalog import DETECTORS, ENERGIES_KEV
    from ctxlib.micrographs import cli

    assert cli.DETECTOR_NAMES == tuple(DETECTORS) and cli.ENERGY_VALUES == tuple(ENERGIES_KEV)
    text = cli.build_parser()._subparsers._group_actions[0].choices["classify"].format_help()
    assert "``" not in text and "(default: ensemble)" in text and "(default: classified)" in text
    assert all(name in text for name in CONTEXT_MODELS) and cli.DEFAULT_MODEL == ENSEMBLE
    assert f"(default {TrustSettings().min_agreement}, or the settings file's)" in " ".join(text.split())
    code = "import sys, ctxlib.micrographs.cli as c; c.build_parser(); print(sorted({'numpy', 'pandas', 'torch'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def _one_model_weights(folder):
    return ["--model", "MLP-Simple", "--weights", str(untrained_weights(folder, ("MLP-Simple",))), "-q"]


def _wse2_image(tmp_path, name):
    """A 200 x 200 WSe2-like image at 0.15 A per pixel, saved as ``images/name``; the image and the folder."""
    metal, chalcogen = honeycomb_sites(3.282, 200 * 0.15)
    image = render([metal, chalcogen], [1.0, 0.7], 200, 0.15)
    folder = tmp_path / "images"
    folder.mkdir()
    np.save(folder / name, image)
    return image, folder


def test_bad_input_gets_one_line_and_no_files_and_the_batch_goes_on(tmp_path, capsys):
    pixel, a = 0.15, 3.282
    image, folder = _wse2_image(tmp_path, "good.npy")
    (folder / "empty.npy").write_bytes(b"")
    (folder / "truncated.npy").write_bytes((folder / "good.npy").read_bytes()[:300])
    half = image.copy()
    half[:, 100:] = np.random.default_rng(1).poisson(2.0, (200, 100)) * image.max() / 200
    np.save(folder / "halfvacuum.npy", half)
    np.save(folder / "vacuum.npy", np.random.default_rng(2).poisson(2.0, (200, 200)).astype(float))
    out = tmp_path / "out"
    options = ["--host", "WSe2", "--dopant", "Ti", *_one_model_weights(tmp_path / "w"), "-o", str(out)]
    for bad, message in [(["--detector", "HAADF", "--energy", "400"], "beam energy 400.0 keV is outside 30-300 keV"),
                         (["--detector-angles", "90", "40", "--energy", "80"], "detector angles 90-40 mrad are not an"),
                         (["--detector", "HAADF", "--energy", "80", "--min-agreement", "2"], "--min-agreement 2.0"),
                         (["--detector", "HAADF", "--energy", "80", "--dopant", "W"],  # the last --dopant counts
                          "dopant 'W' equals the host metal of WSe2"),
                         (["--detector", "HAADF", "--energy", "80", "--host", "WSe3"],
                          "'WSe3' is not of the form MX2")]:
        assert main(["classify", str(folder / "good.npy"), *options, *bad]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0]
        assert not out.exists() or not any(out.iterdir())  # nothing written for a refused option
    status = main(["classify", str(folder / "*.npy"), "--detector-angles", "60", "200", "--energy", "40", *options])
    assert status == 1
    err = capsys.readouterr().err
    assert "empty.npy is empty (0 bytes)" in err and "truncated.npy: cannot read" in err
    assert "vacuum.npy: the image is mostly not crystal" in err or "vacuum.npy: no lattice found" in err
    assert "note: 40 keV classified as 60 keV" in err and "classified as HAADF" in err
    assert not err.count("Traceback")
    summary = pd.read_csv(out / "summary.csv").set_index("image")
    assert summary["status"].to_dict() == {str(folder / n): s for n, s in [
        ("empty.npy", "failed"), ("good.npy", "ok"), ("halfvacuum.npy", "ok"), ("truncated.npy", "failed"),
        ("vacuum.npy", "failed")]}
    assert summary.loc[str(folder / "good.npy"), "energy used (keV)"] == 60
    assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == {
        "summary.csv", *(f"{n}_{k}" for n in ("good", "halfvacuum") for k in ("columns.csv", "columns.json",
                                                                               "overlay.png"))}
    sidecar = json.loads((out / "good_columns.json").read_text())
    assert sidecar["microscope"]["used"] == {"energy_kev": 60, "detector": "HAADF"}
    assert sidecar["microscope"]["stated"]["detector_angles_mrad"] == [60.0, 200.0]
    columns = pd.read_csv(out / "halfvacuum_columns.csv")
    assert columns["x"].max() < 100 + 0.5 * a / pixel  # no column in the vacuum half


def test_two_batches_at_once_into_one_folder_keep_every_row(tmp_path):
    """Two processes write their rows to one summary.csv at the same time, as a lab script may: none is lost."""
    from concurrent.futures import ProcessPoolExecutor

    out = tmp_path / "out"
    out.mkdir()
    batches = [[{"image": f"{b}-{k}.tif", "status": "failed", "reason": "test"} for k in range(20)] for b in "ab"]
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_record_one_at_a_time, [out] * 2, batches))
    rows = pd.read_csv(out / "summary.csv")
    assert sorted(rows["image"]) == sorted(r["image"] for batch in batches for r in batch)


def _record_one_at_a_time(out, rows):
    from ctxlib.micrographs.cli import record_rows

    for row in rows:
        record_rows(out, [row])


def test_a_wrong_host_gets_a_warning_line_and_a_summary_note(tmp_path, capsys):
    """A WS2 field stated as WSe2: classified (the lattice fits within tolerance), but its sublattice contrast does
    not, which the CLI says on stderr and in summary.csv."""
    from ctxlib.simulation.standins import load_test_micrograph

    untrained_weights(tmp_path / "weights", ("MLP-Simple",))
    np.save(tmp_path / "ws2.npy", load_test_micrograph("V", "WS2").image("HAADF"))
    common = ["--dopant", "V", "--detector", "HAADF", "--energy", "80", "--weights", str(tmp_path / "weights"),
              "--model", "MLP-Simple", "-q", "-o", str(tmp_path / "out")]
    assert main(["classify", str(tmp_path / "ws2.npy"), "--host", "WSe2", *common]) == 0
    assert "check the stated host and detector" in capsys.readouterr().err
    row = pd.read_csv(tmp_path / "out" / "summary.csv").iloc[0]
    assert "check the stated host and detector" in row["warning"] and row["contrast factor"] > 1.5
    assert main(["classify", str(tmp_path / "ws2.npy"), "--host", "WS2", *common]) == 0
    assert "check the stated host" not in capsys.readouterr().err
