"""The library generator and reader: packing, checksums, resuming, clear errors.

The generator's abTEM scan is replaced by a cheap deterministic stand-in here (the real
scan is tested in test_simulation.py and re-checked live by notebook 02).
"""

import json

import numpy as np
import pytest
from scipy import ndimage

from ctxlib.base.files import atomic_write, sha256
from ctxlib.materials.catalog import ENERGIES_KEV
from ctxlib.materials.motifs import MOTIF_NAMES
from ctxlib.simulation import library
from ctxlib.simulation.library import LibraryError, generate_library, library_status, load_library, read_manifest
from ctxlib.simulation.scans import MotifImages, MotifSimulation

CALLS = []


def fake_part(host, dopant, energy, motif, settings, device):
    CALLS.append((host, dopant, energy, motif))
    y, x = np.mgrid[:9, :9]
    images = np.stack([(1 + motif) * 1e-3 * np.exp(-((x - 4) ** 2 + (y - 4) ** 2) / (energy / 20)), np.full((9, 9), 0.05)])
    return MotifImages(images.astype(np.float32), (0.27, 0.28), np.array([[1e-4, 2e-3], [0.04, 0.06]], np.float32)), 0.01


@pytest.fixture
def fake(monkeypatch, tmp_path):
    monkeypatch.setattr(library, "_simulate_part", fake_part)
    CALLS.clear()
    return {"root": tmp_path / "library", "parts": tmp_path / "parts"}


def test_generate_pack_and_load(fake):
    packed = generate_library([("WSe2", "Ti")], workers=1, processes=False, progress=False, **fake)
    assert packed == ["WSe2-Ti"] and len(CALLS) == 102
    manifest = read_manifest(fake["root"])
    assert manifest["settings"]["method"] == "prism" and "WSe2-Ti.npz" in manifest["files"]
    entry = load_library("WSe2", "Ti", root=fake["root"])
    assert entry.images.shape == (3, 34, 2, 9, 9) and entry.pixel_size == (0.27, 0.28)
    for e, energy in enumerate(ENERGIES_KEV):
        for m in (0, 33):
            expected = fake_part("WSe2", "Ti", energy, m, None, None)[0].images
            assert np.allclose(entry.images[e, m], expected, rtol=5e-4, atol=0)  # float16 storage
    assert entry.image(80, "D[X2,X2,X2]", "MAADF") == pytest.approx(np.full((9, 9), 0.05), rel=5e-4)
    present, missing = library_status(fake["root"])
    assert present == ["WSe2-Ti"] and len(missing) == 95


def test_an_interrupted_run_resumes_with_only_the_missing_scans(fake, monkeypatch):
    def crashing_part(*args):
        if len(CALLS) >= 40:
            raise RuntimeError("worker lost")
        return fake_part(*args)

    monkeypatch.setattr(library, "_simulate_part", crashing_part)
    with pytest.raises(RuntimeError, match="worker lost"):
        generate_library([("WSe2", "V")], workers=1, processes=False, progress=False, **fake)
    assert not (fake["root"] / "WSe2-V.npz").exists()
    done = len(list((fake["parts"] / "WSe2-V").glob("*.npz")))
    assert 30 <= done <= 40 + 2  # finished scans are kept; at most the 2 scans in flight are lost
    monkeypatch.setattr(library, "_simulate_part", fake_part)
    CALLS.clear()
    assert generate_library([("WSe2", "V")], workers=1, processes=False, progress=False, **fake) == ["WSe2-V"]
    assert len(CALLS) == 102 - done
    CALLS.clear()
    assert generate_library([("WSe2", "V")], workers=1, processes=False, progress=False, time_limit_s=0.0, **fake) == [] and not CALLS
    assert generate_library([("WSe2", "V")], workers=1, processes=False, progress=False, **fake) == [] and not CALLS


def test_missing_truncated_and_mismatched_files_name_the_file_and_the_command(fake):
    with pytest.raises(LibraryError, match=r"WSe2-Ti.npz is missing .*python -m ctxlib.simulation.library generate --pairs WSe2-Ti"):
        load_library("WSe2", "Ti", root=fake["root"])
    generate_library([("WSe2", "Ti")], workers=1, processes=False, progress=False, **fake)
    path = fake["root"] / "WSe2-Ti.npz"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(LibraryError, match=r"WSe2-Ti.npz does not match its manifest entry .*--pairs WSe2-Ti"):
        load_library("WSe2", "Ti", root=fake["root"])
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(LibraryError, match="does not match its manifest"):
        load_library("WSe2", "Ti", root=fake["root"])


def test_settings_survive_the_manifest():
    settings = MotifSimulation(method="multislice", repeat=(6, 4), slice_thickness=0.15)
    assert library.settings_from_record(json.loads(json.dumps(library.settings_record(settings)))) == settings


def test_other_settings_do_not_mix_into_an_existing_library(fake):
    generate_library([("WSe2", "Ti")], workers=1, processes=False, progress=False, **fake)
    with pytest.raises(ValueError, match="differ from the library's"):
        generate_library([("WSe2", "V")], settings=MotifSimulation(method="multislice"), workers=1, processes=False, progress=False, **fake)


def test_bad_pairs_are_refused(fake):
    with pytest.raises(ValueError, match="host 'WSe3' is not in the catalog"):
        load_library("WSe3", "Ti", root=fake["root"])
    with pytest.raises(ValueError, match="dopant 'Re' shares the period"):
        generate_library([("WSe2", "Re")], workers=1, processes=False, progress=False, **fake)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "x.npz"

    def broken(handle):
        handle.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, broken)
    assert list(tmp_path.iterdir()) == []
    atomic_write(target, lambda h: h.write(b"ok"))
    assert target.read_bytes() == b"ok" and [p.name for p in tmp_path.iterdir()] == ["x.npz"]


def test_shipped_manifest_matches_the_shipped_files():
    """Every file the manifest lists is present with its checksum; nothing else is shipped."""
    manifest = read_manifest()
    assert manifest["format"] == library.FORMAT and manifest["motifs"] == list(MOTIF_NAMES)
    shipped = {p.name for p in library.library_root().glob("*.npz")}
    assert shipped == set(manifest["files"])
    for name, record in manifest["files"].items():
        assert sha256(library.library_root() / name) == record["sha256"], name
    assert json.loads((library.library_root() / "manifest.json").read_text()) == manifest
    assert sum(r["bytes"] for r in manifest["files"].values()) * 96 / len(manifest["files"]) < 50e6  # fits the budget


def test_status_command_lists_what_is_missing(capsys):
    assert library.main(["status"]) == 0
    out = capsys.readouterr().out
    present, missing = library_status()
    assert f"{len(present)} of 96 doped hosts present" in out
    assert ("missing: none" in out) if not missing else all(name in out for name in missing)


def test_verify_library_re_simulates_on_the_chosen_device_and_times_each_scan(fake, monkeypatch):
    generate_library([("WSe2", "Ti")], workers=1, processes=False, progress=False, **fake)
    devices = []

    def fake_motif(host, dopant, motif, energy, settings, device):
        devices.append(device)
        images = fake_part(host, dopant, energy, motif, settings, device)[0].images
        scale = 1.01 if device == "cuda" else 1
        return MotifImages(images * scale, (0.27, 0.28), None)

    monkeypatch.setattr(library, "simulate_motif", fake_motif)
    on_cpu = library.verify_library(3, root=fake["root"])
    on_gpu = library.verify_library(3, root=fake["root"], device="cuda")
    assert devices == ["cpu"] * 3 + ["cuda"] * 3 and len(on_cpu) == len(on_gpu) == 6  # both detectors per scan
    assert (on_cpu["relative_difference"] < 5e-4).all() and (on_gpu["relative_difference"] > 5e-3).all()
    assert (on_cpu["seconds"] >= 0).all() and list(on_cpu["motif"]) == list(on_gpu["motif"])  # same scans
    with pytest.raises(ValueError, match="'tpu'"):
        library.verify_library(1, root=fake["root"], device="tpu")


def test_library_bytes_is_the_size_of_the_shipped_files_on_disk():
    assert library.library_bytes({"files": {"a.npz": {"bytes": 3}, "b.npz": {"bytes": 40}}}) == 43
    on_disk = sum(p.stat().st_size for p in library.library_root().glob("*.npz"))
    assert library.library_bytes(read_manifest()) == on_disk


def test_motif_indices_follow_the_order_given_and_refuse_unknown_names():
    assert library.motif_indices(["M[X2,X2,X2]", "X2[M,M,M]", 5]) == [library.MOTIF_NAMES.index("M[X2,X2,X2]"), 0, 5]
    assert library.MOTIF_NAMES[library.motif_indices(["VacX2[M,M,D]"])[0]] == "VacX2[M,M,D]"
    with pytest.raises(ValueError, match="motif 'Q' is unknown"):
        library.motif_indices(["Q"])


def test_clean_views_label_pick_and_normalise_each_image():
    rng = np.random.default_rng(0)
    images = rng.uniform(0.01, 0.02, (len(ENERGIES_KEV), len(MOTIF_NAMES), 2, 16, 16)).astype(np.float32)
    entries = {"A": library.LibraryEntry("WSe2", "Ti", images, np.zeros((3, 34, 2, 2)), (0.2, 0.3)),
               "B": library.LibraryEntry("MoS2", "W", images * 2, np.zeros((3, 34, 2, 2)), (0.1, 0.1))}
    raw, pixel = library.clean_views(entries, energy_kev=100, motif="M[X2,X2,X2]", detectors=("HAADF", "MAADF"))
    assert list(raw) == ["A HAADF 100 keV", "A MAADF 100 keV", "B HAADF 100 keV", "B MAADF 100 keV"]
    m = library.MOTIF_NAMES.index("M[X2,X2,X2]")
    assert np.array_equal(raw["A MAADF 100 keV"], images[2, m, 1])
    assert np.array_equal(raw["B HAADF 100 keV"], 2 * images[2, m, 0])
    assert pixel == {"A HAADF 100 keV": (0.2, 0.3), "A MAADF 100 keV": (0.2, 0.3), "B HAADF 100 keV": (0.1, 0.1),
                     "B MAADF 100 keV": (0.1, 0.1)}
    normalised, _ = library.clean_views(entries, energy_kev=60, motif=0, normalise=True, label="{name}, {detector}")
    assert list(normalised) == ["A, HAADF", "B, HAADF"]
    image = images[0, 0, 0].astype(np.float64)
    background = np.percentile(ndimage.gaussian_filter(image, 1.0), 1.0)  # by hand: 1st percentile, smoothed
    np.testing.assert_allclose(normalised["A, HAADF"], (image - background) / (image.mean() - background), rtol=1e-6)
    np.testing.assert_allclose(normalised["B, HAADF"], normalised["A, HAADF"], rtol=1e-5)  # a scale drops out
