"""Features from the shipped library: determinism, shapes, labels, site flags, splits."""

from dataclasses import replace

import numpy as np
import pytest

from ctxlib.base.settings import Range
from ctxlib.encoding.context import encode_context
from ctxlib.learning.dataset import LABELS, FeatureSettings, build_features, host_features, realisations_for
from ctxlib.learning.reading import (
    chunk_splits,
    features_digest,
    iter_feature_chunks,
    load_features,
    random_split,
    stream_batches,
    summarise_features,
)
from ctxlib.materials.imaging import ImagingContext
from ctxlib.materials.motifs import MOTIFS
from ctxlib.simulation.augmentation import AugmentationSettings
from ctxlib.simulation.library import load_library


@pytest.fixture(scope="module")
def entry():
    return load_library("WSe2", "Ti")


def test_host_features_are_deterministic_and_complete(entry):
    a = host_features(entry, FeatureSettings(realisations=2, seed=5))
    b = host_features(entry, FeatureSettings(realisations=2, seed=5))
    c = host_features(entry, FeatureSettings(realisations=2, seed=6))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["X"], c["X"])
    n = 6 * 2 * 34
    assert a["X"].shape == (n, 31) and a["X"].dtype == np.float32 and np.isfinite(a["X"]).all()
    assert np.array_equal(a["y"][:34], LABELS) and set(a["y"]) == {0, 1, 2, 3, 4}
    first = (a["energy"] == 60) & (a["detector"] == 0)
    context = ImagingContext("WSe2", "Ti", detector="HAADF", energy_kev=60)
    assert np.allclose(a["X"][first][:, :23], encode_context(context))


def test_features_are_the_moments_of_the_normalised_patches_they_stand_for(entry):
    """The moments come from the window's pixels through folded weights; the same draws with ``pixels=True`` give
    the normalised patches, whose moments (ctxlib.encoding.zernike) they must be."""
    from ctxlib.encoding.zernike import zernike_moments
    from ctxlib.learning.dataset import context_features

    fast = context_features(entry, 100, "MAADF", 3, np.random.default_rng(2))
    slow = context_features(entry, 100, "MAADF", 3, np.random.default_rng(2), pixels=True)
    assert fast.patches is None and np.array_equal(fast.X, slow.X)
    assert slow.patches.shape == (3 * 34, 32, 32) and slow.crops.shape[0] == 3 * 34
    assert np.allclose(fast.X[:, 23:29], zernike_moments(slow.patches), rtol=1e-4, atol=1e-5)


def test_site_flags_mark_one_sublattice_per_context(entry):
    a = host_features(entry, FeatureSettings(realisations=1, seed=0))
    flags = a["X"][:, 29:]
    metal_site = np.array([m.metal_site for m in MOTIFS])[a["motif"]]
    assert set(map(tuple, flags)) <= {(1.0, 0.0), (0.0, 1.0)}
    for e in (60, 80, 100):
        for d in (0, 1):
            rows = (a["energy"] == e) & (a["detector"] == d)
            assert len({tuple(f) for f in flags[rows & metal_site]}) == 1
            assert not np.array_equal(flags[rows & metal_site][0], flags[rows & ~metal_site][0])
    haadf_80 = (a["energy"] == 80) & (a["detector"] == 0) & metal_site
    assert tuple(flags[haadf_80][0]) == (1.0, 0.0)  # W is brighter than Se2 in HAADF


def test_build_features_writes_resumable_chunks(tmp_path, monkeypatch):
    import ctxlib.learning.dataset as dataset

    monkeypatch.setattr(dataset, "trained_status", lambda: (["WSe2-Ti"], ["WSe2-V"]))
    manifest = dataset.read_manifest()
    one = FeatureSettings(realisations=1, seed=0)
    run = build_features(tmp_path, progress=False, workers=1, settings=one)
    assert run.written == ["WSe2-Ti"] and run.missing_library == ["WSe2-V"] and run.rebuilt == {}
    again = build_features(tmp_path, progress=False, workers=1, settings=one)
    assert again.written == [] and again.reused == ["WSe2-Ti"]
    assert build_features(tmp_path, progress=False, workers=1, settings=replace(one, seed=1)).rebuilt == {"WSe2-Ti": ["settings.seed"]}
    manifest["files"]["WSe2-Ti.npz"] = {**manifest["files"]["WSe2-Ti.npz"], "sha256": "0" * 64}
    monkeypatch.setattr(dataset, "read_manifest", lambda: manifest)  # the library file changed
    assert build_features(tmp_path, progress=False, workers=1, settings=replace(one, seed=1)).rebuilt == {"WSe2-Ti": ["library_sha256"]}
    X, y, meta = load_features(tmp_path)
    assert X.shape == (204, 31) and len(meta) == 204 and set(meta["detector"]) == {"HAADF", "MAADF"}
    assert [name for name, _ in iter_feature_chunks(tmp_path)] == ["WSe2-Ti"]
    summary = summarise_features(tmp_path, seed=0)
    assert summary.loc[("random", "test"), "rows"] == round(0.2 * 204)
    assert summary.loc[("energy", "test"), "rows"] == 68 and summary.loc[("host", "test"), "rows"] == 0
    assert (summary.xs("train", level="part")["rows"] + summary.xs("test", level="part")["rows"] == 204).all()


def test_splits():
    test = random_split(1000, 0.2, seed=1)
    assert test.sum() == 200 and np.array_equal(test, random_split(1000, 0.2, seed=1))
    with pytest.raises(ValueError, match="test_fraction must lie in"):
        random_split(10, 1.5)
    arrays = {"y": np.zeros(6, np.int8), "energy": np.array([60, 80, 100, 60, 80, 100], np.int16)}
    masks = chunk_splits("MoS2-Ti", arrays, seed=0, test_fraction=0.5)
    assert masks["host"].all() and masks["energy"].tolist() == [False, False, True] * 2 and masks["random"].sum() == 3
    assert not chunk_splits("WSe2-Ti", arrays)["host"].any()
    assert np.array_equal(chunk_splits("WSe2-Ti", arrays, seed=3)["random"], chunk_splits("WSe2-Ti", arrays, seed=3)["random"])
    with pytest.raises(ValueError, match="held-out energy \\(keV\\) 90 is not in the catalog"):
        chunk_splits("WSe2-Ti", arrays, holdout_energy_kev=90)


@pytest.mark.parametrize("change, key", [
    ({"realisations": 2}, "settings.realisations"),
    ({"realisation_batch": 32}, "settings.realisation_batch"),
    ({"patch_size": 24}, "settings.patch_size"),
    ({"augmentation": AugmentationSettings(dose=Range(1e4, 1e5, "log"))}, "settings.augmentation.dose.high"),
    ({"augmentation": AugmentationSettings(blur=Range(0.1, 0.6))}, "settings.augmentation.blur.low"),
    ({"augmentation": AugmentationSettings(exact_poisson_below=10.0)}, "settings.augmentation.exact_poisson_below"),
    ({"pixel_geometry": "mean"}, "settings.pixel_geometry"),
    ({"seed": 3}, "settings.seed"),
])
def test_every_setting_is_in_the_stamp_and_forces_a_rebuild(tmp_path, monkeypatch, change, key):
    import ctxlib.learning.dataset as dataset

    monkeypatch.setattr(dataset, "trained_status", lambda: (["WSe2-Ti"], []))
    monkeypatch.setattr(dataset, "host_features", lambda entry, settings, undoped=False: {"X": np.zeros((1, 31), np.float32)})
    base = FeatureSettings(realisations=1)
    build_features(tmp_path, progress=False, workers=1, settings=base)
    digest = features_digest(tmp_path)
    run = build_features(tmp_path, progress=False, workers=1, settings=replace(base, **change))
    assert key in run.rebuilt["WSe2-Ti"] and features_digest(tmp_path) != digest
    assert dataset.stamp_of(tmp_path / "WSe2-Ti.npz")["ctxlib"]


@pytest.mark.parametrize("stamp_entry", ["code", "ctxlib"])
def test_a_change_of_code_or_version_forces_a_rebuild(tmp_path, monkeypatch, stamp_entry):
    import ctxlib.learning.dataset as dataset

    monkeypatch.setattr(dataset, "trained_status", lambda: (["WSe2-Ti"], []))
    monkeypatch.setattr(dataset, "host_features", lambda entry, settings, undoped=False: {"X": np.zeros((1, 31), np.float32)})
    build_features(tmp_path, progress=False, workers=1, settings=FeatureSettings(realisations=1))
    if stamp_entry == "code":
        monkeypatch.setattr(dataset, "source_digest", lambda *modules: "0" * 64)
    else:
        monkeypatch.setattr(dataset, "__version__", "99.0")
    run = build_features(tmp_path, progress=False, workers=1, settings=FeatureSettings(realisations=1))
    assert run.rebuilt == {"WSe2-Ti": [stamp_entry]}


def test_the_bytes_do_not_depend_on_the_number_of_workers(tmp_path, monkeypatch):
    import ctxlib.learning.dataset as dataset

    monkeypatch.setattr(dataset, "trained_status", lambda: (["WSe2-Ti", "MoS2-V"], []))
    one = FeatureSettings(realisations=1, seed=2)
    build_features(tmp_path / "one", progress=False, workers=1, settings=one)
    build_features(tmp_path / "two", progress=False, workers=2, settings=one)
    for name in ("WSe2-Ti", "MoS2-V"):
        assert (tmp_path / "one" / f"{name}.npz").read_bytes() == (tmp_path / "two" / f"{name}.npz").read_bytes()


def test_patches_are_physically_square_on_non_square_pixels(entry):
    """Per axis, the patch spans sqrt(3) a in y and in x; with the mean pixel it spans 3 % less in one and more in the other."""
    from ctxlib.learning.dataset import patch_sides
    from ctxlib.materials.catalog import HOSTS

    a = HOSTS["WSe2"].a
    side_y, side_x = patch_sides(entry.pixel_size, a)
    assert side_y * entry.pixel_size[0] == pytest.approx(np.sqrt(3) * a) == side_x * entry.pixel_size[1]
    mean_y, mean_x = patch_sides(entry.pixel_size, a, geometry="mean")
    assert mean_y == mean_x and mean_y * entry.pixel_size[0] < np.sqrt(3) * a < mean_x * entry.pixel_size[1]
    with pytest.raises(ValueError, match="pixel_geometry 'square' is not in the catalog; allowed: per-axis, mean"):
        FeatureSettings(pixel_geometry="square")


def test_feature_settings_refuse_bad_values():
    with pytest.raises(ValueError, match="realisations = 0 must be an integer in"):
        FeatureSettings(realisations=0)
    with pytest.raises(ValueError, match="patch_size = 31.5"):
        FeatureSettings(patch_size=31.5)
    assert FeatureSettings.at_scale("full").realisations == 2800


def test_scales():
    assert realisations_for("quick") < realisations_for("full")
    assert 576 * 34 * realisations_for("full") == pytest.approx(55e6, rel=0.01)
    with pytest.raises(ValueError, match="scale 'huge' is not in the catalog; allowed: quick, full"):
        realisations_for("huge")


def _fake_features(directory, names=("WSe2-Ti", "MoS2-V", "TaSe2-Mn"), rows=300):
    """Feature files whose first column numbers every row uniquely."""
    for k, name in enumerate(names):
        X = np.zeros((rows, 31), np.float32)
        X[:, 0] = np.arange(k * rows, (k + 1) * rows)
        arrays = {"X": X, "y": np.tile(LABELS, rows // 34 + 1)[:rows], "energy": np.repeat([60, 80, 100], rows // 3),
                  "detector": np.zeros(rows, np.int8), "motif": np.zeros(rows, np.int8),
                  "realisation": np.zeros(rows, np.int32)}
        np.savez(directory / f"{name}.npz", **arrays)


@pytest.mark.parametrize("buffer_rows", [10**6, 250, 1])
def test_stream_batches_yield_every_row_of_a_part_once_per_epoch(tmp_path, buffer_rows):
    _fake_features(tmp_path)
    train_X, _, _ = load_features(tmp_path, split="random", part="train", seed=2)
    test_X, _, _ = load_features(tmp_path, split="random", part="test", seed=2)
    assert len(train_X) + len(test_X) == 900 and not set(train_X[:, 0]) & set(test_X[:, 0])
    rng = np.random.default_rng(0)
    streamed = list(stream_batches(tmp_path, 64, rng, split="random", part="train", seed=2, buffer_rows=buffer_rows))
    ids = np.concatenate([X[:, 0] for X, _ in streamed])
    assert sorted(ids) == sorted(train_X[:, 0])
    assert all(len(X) == 64 for X, _ in streamed[:-1]) and 0 < len(streamed[-1][0]) <= 64
    again = np.concatenate([X[:, 0] for X, _ in stream_batches(tmp_path, 64, np.random.default_rng(1), seed=2)])
    assert not np.array_equal(ids, again)  # reshuffled every epoch
    held_out = load_features(tmp_path, split="host", part="test")[2]
    assert set(held_out["host"]) == {"MoS2"}
    with pytest.raises(ValueError, match="split 'hosts' is not in the catalog; allowed: random, host, energy"):
        next(stream_batches(tmp_path, 64, rng, split="hosts"))


def test_stream_batches_mix_every_file_into_every_batch(tmp_path):
    """Pools smaller than the epoch still hold every file's rows (pools of whole files fed a model a few hosts at a
    time); at the quick scale's one pool, the order is that of the old single full shuffle."""
    names = ("WSe2-Ti", "MoS2-V", "TaSe2-Mn", "CrS2-Nb")
    _fake_features(tmp_path, names)
    streamed = list(stream_batches(tmp_path, 48, np.random.default_rng(3), seed=2, buffer_rows=300))
    assert len(streamed) == 20  # 4 pools of about 240 training rows
    for X, _ in streamed:
        assert len(np.unique(X[:, 0] // 300)) == len(names)  # every batch has rows of all four files
    whole = np.concatenate([X[:, 0] for X, _ in stream_batches(tmp_path, 48, np.random.default_rng(3), seed=2)])
    train_X = load_features(tmp_path, split="random", part="train", seed=2)[0]
    rng = np.random.default_rng(3)
    files = [names.index(name) for name in np.array(sorted(names))[rng.permutation(len(names))]]
    rows = np.concatenate([train_X[train_X[:, 0] // 300 == k, 0] for k in files])
    assert np.array_equal(whole, rows[rng.permutation(len(rows))])
    with pytest.raises(ValueError, match="buffer_rows must be a positive number of rows, got 0"):
        next(stream_batches(tmp_path, 48, np.random.default_rng(3), buffer_rows=0))


def test_the_features_digest_is_hashed_once_for_the_same_files_and_again_for_a_rewritten_one(tmp_path, monkeypatch):
    import ctxlib.learning.reading as reading
    from ctxlib.base.files import atomic_write, write_npz

    hashed = []
    monkeypatch.setattr(reading, "sha256", lambda path: hashed.append(path.name) or path.read_bytes().hex())
    atomic_write(tmp_path / "a-b.npz", lambda handle: write_npz(handle, X=np.zeros(4, np.float32)))
    first = features_digest(tmp_path)
    assert features_digest(tmp_path) == first and hashed == ["a-b.npz"]
    atomic_write(tmp_path / "a-b.npz", lambda handle: write_npz(handle, X=np.ones(4, np.float32)))  # same size
    assert features_digest(tmp_path) != first and hashed == ["a-b.npz", "a-b.npz"]


def test_an_undoped_host_has_the_motifs_without_a_dopant_and_a_zero_dopant_block(entry):
    """``WSe2-none`` rows: only the 14 motifs with no D anywhere (so no class D), the context of WSe2 without a
    dopant, and the same moments as the doped host's file would give those motifs' images (the images are shared)."""
    from ctxlib.materials.motifs import UNDOPED_MOTIFS

    a = host_features(entry, FeatureSettings(realisations=2, seed=5), undoped=True)
    assert len(UNDOPED_MOTIFS) == 14 and a["X"].shape == (6 * 2 * 14, 31)
    assert set(np.unique(a["motif"])) == set(UNDOPED_MOTIFS) and 4 not in set(a["y"])
    first = (a["energy"] == 60) & (a["detector"] == 0)
    context = ImagingContext("WSe2", None, detector="HAADF", energy_kev=60)
    assert np.allclose(a["X"][first][:, :23], encode_context(context))
    assert not a["X"][:, 12:18].any()  # the dopant's shell block


def test_undoped_pairs_are_named_seeded_and_sourced_after_the_doped_ones():
    from ctxlib.materials.catalog import doped_hosts, pair_name, parse_pair_name, trained_pairs
    from ctxlib.simulation.library import library_source, read_manifest

    pairs = trained_pairs()
    assert pairs[:96] == doped_hosts() and len(pairs) == 109 and all(d is None for _, d in pairs[96:])
    assert all(parse_pair_name(pair_name(h, d)) == (h, d) for h, d in pairs)
    files = read_manifest()["files"]
    assert library_source("WSe2-none", files) == next(f"WSe2-{d}" for h, d in doped_hosts() if h == "WSe2")
    assert library_source("WSe2-Ti", files) == "WSe2-Ti"
    with pytest.raises(ValueError, match="HOST-DOPANT"):
        parse_pair_name("WSe2")
