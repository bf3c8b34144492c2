"""Files: the memory maps of an uncompressed .npz read the very arrays that were written."""

import numpy as np
import pytest

from ctxlib.base.files import npz_memmap, write_npz


def test_npz_memmap_reads_what_write_npz_and_numpy_savez_wrote(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"X": rng.normal(size=(1000, 31)).astype(np.float32), "y": rng.integers(0, 5, 1000).astype(np.int8),
              "fortran": np.asfortranarray(rng.normal(size=(7, 5))), "empty": np.zeros((0, 3), np.int32),
              "stamp": np.array('{"seed": 0}')}
    ours = tmp_path / "ours.npz"
    with open(ours, "wb") as handle:
        write_npz(handle, **arrays)
    plain = tmp_path / "plain.npz"
    np.savez(plain, **arrays)
    for path in (ours, plain):
        maps = npz_memmap(path, tuple(arrays))
        for name, value in arrays.items():
            assert maps[name].dtype == value.dtype and np.array_equal(maps[name], value), (path.name, name)
        rows = np.array([3, 500, 999])
        assert np.array_equal(np.asarray(maps["X"][rows]), arrays["X"][rows])


def test_npz_memmap_refuses_a_compressed_member(tmp_path):
    path = tmp_path / "compressed.npz"
    np.savez_compressed(path, X=np.ones((100, 3)))
    with pytest.raises(ValueError, match="member X.npy is compressed; only stored members can be mapped"):
        npz_memmap(path, ("X",))
    with pytest.raises(KeyError):
        npz_memmap(path, ("missing",))
