"""Full-field classification speed: ``python benchmarks/classify_speed.py``.

Renders a 2048 x 2048 synthetic WSe2 micrograph (Gaussian columns on the projected
honeycomb, 0.1 Angstrom per pixel, a few missing X2 columns, Poisson noise), then times
each stage of :func:`ctxlib.micrographs.classify.classify_image` (best of three): lattice constant,
normalisation, visible peaks, crystal mask (with its lattice-contrast test), lattice-model
sites, patches, Zernike moments, the five models, the training-feature reference of the
context (drawn afresh) and the classical intensity baseline; then the whole call as
``ctxlib classify`` makes it (the ensemble with the uncertainty) and, in the same run, with one
model. Writes ``benchmarks/results/classify_speed.json`` with the previous record's total
beside the new one; the target is 2.5 s on 2 cores for the ensemble with the uncertainty.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
from record import best_seconds, results_dir, write_result
from scipy import ndimage


def synthetic_micrograph(size: int = 2048, pixel: float = 0.1, a: float = 3.282, seed: int = 0) -> np.ndarray:
    """Honeycomb of Gaussian columns (metal 1.0, X2 0.7), 1 % of X2 sites empty, Poisson noise."""
    rng = np.random.default_rng(seed)
    a1, a2 = a * np.array([1.0, 0.0]), a * np.array([0.5, np.sqrt(3) / 2])
    n = int(size * pixel / a * 1.3) + 2
    i, j = np.mgrid[-n:n, -n:n]
    metal = i.ravel()[:, None] * a1 + j.ravel()[:, None] * a2
    image = np.zeros((size, size))
    for sites, weight, keep in ((metal, 1.0, 1.0), (metal + (a1 + a2) / 3, 0.7, 0.99)):
        px = sites / pixel
        inside = np.all((px >= 0) & (px < size - 1), axis=1) & (rng.random(len(px)) < keep)
        np.add.at(image, (px[inside, 1].astype(int), px[inside, 0].astype(int)), weight)
    image = ndimage.gaussian_filter(image, 0.35 / pixel)
    return rng.poisson(image / image.max() * 200 + 5).astype(np.float64)


def main() -> dict:
    from ctxlib.base.intensity import IntensityNormaliser
    from ctxlib.encoding.columns import find_columns
    from ctxlib.encoding.lattice import estimate_lattice_constant
    from ctxlib.encoding.mask import crystal_mask
    from ctxlib.encoding.patches import extract_patches
    from ctxlib.encoding.sites import find_sites
    from ctxlib.encoding.zernike import zernike_moments
    from ctxlib.encoding.features import encode_image
    from ctxlib.learning.evaluation import predict_proba
    from ctxlib.learning.outliers import context_reference
    from ctxlib.learning.pretrained import export_weights, load_models, weights_folder
    from ctxlib.learning.spec import CONTEXT_MODELS
    from ctxlib.learning.training import Checkpoint, TrainingConfig, batches, train
    from ctxlib.materials.imaging import ImagingContext
    from ctxlib.micrographs.classify import TrustSettings, classify_image
    from ctxlib.micrographs.intensities import intensity_classes

    image = synthetic_micrograph()
    context = ImagingContext("WSe2", "Ti", detector="HAADF", energy_kev=80)
    weights = weights_folder("quick")
    if not (weights / "manifest.json").exists():  # untrained stand-ins: the speed does not depend on the weights
        weights = Path(tempfile.mkdtemp())
        X, y = np.zeros((64, 31), np.float32), np.zeros(64, int)
        trained = {}
        for name in CONTEXT_MODELS:
            config = TrainingConfig(name, epochs=1, batch_size=64)
            model, history = train(config, lambda rng: batches(X, y, 64, rng), progress=False)
            trained[name] = Checkpoint(model, config, history, {})
        export_weights(trained, "quick", 0, {}, directory=weights)
    lattice = estimate_lattice_constant(image)
    normalised = IntensityNormaliser().fit_transform(image)
    found = find_columns(normalised, lattice.a_px)
    mask = crystal_mask(image.shape, found, lattice.a_px, image=image)
    positions = find_sites(normalised, lattice.a_px, found, mask=mask).positions
    patches = extract_patches(normalised, positions, lattice.patch_side_px, edge="reflect").patches
    models = load_models(weights, CONTEXT_MODELS)
    encoding = encode_image(image, context, pixel_size=0.1)
    features = encoding.features

    def reference():
        context_reference.cache_clear()
        return context_reference(context, settings=TrustSettings().reference)

    stages = {
        "lattice constant": lambda: estimate_lattice_constant(image),
        "normalisation": lambda: IntensityNormaliser().fit_transform(image),
        "peaks": lambda: find_columns(normalised, lattice.a_px),
        "crystal mask": lambda: crystal_mask(image.shape, found, lattice.a_px, image=image),
        "lattice-model sites": lambda: find_sites(normalised, lattice.a_px, found, mask=mask),
        "patches": lambda: extract_patches(normalised, positions, lattice.patch_side_px, edge="reflect"),
        "Zernike": lambda: zernike_moments(patches),
        "five models": lambda: [predict_proba(models[n].model, n, features) for n in CONTEXT_MODELS],
        "training-feature reference": reference,
        "outlier distances": lambda: reference().distance(features),
        "intensity baseline": lambda: intensity_classes(encoding, context),
    }
    seconds = {name: best_seconds(stage, 3, warm_up=False) for name, stage in stages.items()}
    seconds["outlier distances"] -= seconds["training-feature reference"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        total = best_seconds(lambda: classify_image(image, context, pixel_size=0.1, weights_dir=weights),
                             3, warm_up=False)
        one_model = best_seconds(lambda: classify_image(image, context, model="MLP-Simple",
                                                        pixel_size=0.1, weights_dir=weights),
                                 3, warm_up=False)
    for name, value in seconds.items():
        print(f"{name:28s} {value:6.3f} s")
    print(f"classify_image (ensemble)    {total:6.3f} s for {image.shape[0]} x {image.shape[1]} px, "
          f"{len(positions):,} columns; with MLP-Simple alone {one_model:6.3f} s")
    previous = results_dir() / "classify_speed.json"
    before = json.loads(previous.read_text()) if previous.exists() else {}
    return write_result("classify_speed", {"image_px": list(image.shape), "columns": int(len(positions)),
                                           "stages_s": seconds, "classify_image_s": total,
                                           "classify_image_one_model_s": one_model, "target_s": 2.5,
                                           "previous": {k: before.get(k) for k in ("classify_image_s", "date", "stages_s")}},
                        "python benchmarks/classify_speed.py")


if __name__ == "__main__":
    main()
