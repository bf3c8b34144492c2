"""The book's reading of the shipped benchmark records (``benchmarks/results/*.json``): the tables
and sentences a page shows from a run too long for the page itself, each naming its command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ctxlib.base.files import source_digest
from ctxlib.learning.dataset import FEATURE_CODE, realisations_for
from ctxlib.learning.evaluation import entropy_cut
from ctxlib.learning.metrics import bic
from ctxlib.learning.spec import CONTEXT_MODELS, MODEL_NAMES
from ctxlib.materials.catalog import trained_pairs
from ctxlib.micrographs.classify import ENSEMBLE

CONTEXTS = 576
MOTIFS = 34


def dataset_speed_text(speed: dict, doped_hosts_present: int) -> str:
    """Markdown on the library's scan speed and the features' patch throughput.

    Parameters
    ----------
    speed : dict
        The record of ``benchmarks/dataset_speed.py`` (``benchmarks/results/dataset_speed.json``).
    doped_hosts_present : int
        Doped hosts in the shipped library, of 96 (sizes are scaled from them).
    """
    scans, features = speed["scans"], speed["features"]
    per_scan = scans["seconds_per_scan_one_core"]
    prism = np.mean([v for k, v in per_scan.items() if k.startswith("prism")])
    plain = np.mean([v for k, v in per_scan.items() if k.startswith("multislice")])
    fast = features["all_cores"]["patches_per_second"]
    previous = features.get("previous")
    target = features["target_patches_per_second"]
    full_rows = CONTEXTS * MOTIFS * realisations_for("full")
    verdict = "met" if fast >= target else f"not met ({fast / target:.0%} of it)"
    return (
        f"One library scan (PRISM, both detectors) takes **{prism:.2f} s** on one CPU core on average over the "
        f"three energies (plain multislice: {plain:.2f} s). The generator, two scans at a time on this 2-core "
        f"machine, made the 102 scans of one doped host in **{scans['generator_seconds_one_doped_host']:.0f} s** "
        f"({scans['generator_scans_per_second']:.2f} scans/s; two scans share the memory bandwidth), so the 9,792 "
        f"scans take about **{scans['library_hours_extrapolated']:.1f} h** (target: at most 6 h; measured "
        f"{scans['date']}). The generator recorded {scans['library_seconds_per_scan_recorded']:.2f} s per scan "
        "and worker while it shared the machine with other work.\n\n"
        f"Features (measured {features['date']}, {features['realisations']} realisations a context): "
        f"**{features['one_process']['patches_per_second']:,} patches/s** in one process, against "
        f"{features['baseline']['patches_per_second']:,} patches/s for the original pipeline (revision "
        f"`{features['baseline']['revision']}`, same run, same machine: {features['speed_up_one_process']}x)"
        + (f" and {previous['one_process']['patches_per_second']:,} patches/s for the pipeline of the previous "
           f"figure (revision `{previous['revision']}`)" if previous else "")
        + f". On both cores (two dask workers, {features['all_cores']['doped_hosts']} doped hosts): **{fast:,} "
        f"patches/s**"
        + (f" (previous pipeline, same run: {previous['all_cores']['patches_per_second']:,})" if previous else "")
        + (f"; the same doped hosts in one process: {alone:,} patches/s (two workers: {fast / alone:.2f}x; these "
           "hosts, several with larger windows or fewer counts, are slower per patch than WSe2-Ti)"
           if (alone := features["all_cores"].get("one_process_patches_per_second")) else "")
        + f". At that rate the paper's {full_rows / 1e6:.1f} M patches take about "
        f"**{features['full_scale_minutes_extrapolated']:.0f} min** and the quick scale about "
        f"{CONTEXTS * MOTIFS * realisations_for('quick') / fast:.0f} s"
        + (f"; made for real (all {whole['doped_hosts']} doped hosts, {whole['rows'] / 1e6:.1f} M patches, two "
           f"workers, the cluster's start included; `--part full-features`, {whole['date']}) they took "
           f"**{whole['seconds'] / 60:.1f} min** ({whole['patches_per_second']:,} patches/s) with a memory peak of "
           f"{whole['peak_memory_gb']:.1f} GB" if (whole := speed.get("full_features")) else "")
        + f". The target of {target:,} patches/s is "
        f"{verdict} (`{speed['command']} --part features`; each figure the best of a few runs). On this shared "
        "virtual machine the same pipeline has measured up to a third slower in one run than in another, so compare "
        "the figures of one run, not figures of different dates. "
        + (("Where a patch's time goes in one process (cProfile, "
            f"{features['profile']['total_microseconds_per_patch']:.1f} µs a patch): "
            + "; ".join(f"{step} {us:.1f} µs" for step, us in features["profile"]["microseconds_per_patch"].items())
            + ". ") if "profile" in features else "")
        + ("These are CPU figures; what a GPU machine changes (abTEM scans on its GPU, the features on all "
           "its cores) is measured by `python benchmarks/gpu.py` and shown in section 5, *On a GPU*. "
           if speed.get("device", "cpu") == "cpu" else f"Scans timed on the {speed['device']}. ")
        + "Sizes of the whole library and of the features are scaled from the "
        f"{doped_hosts_present} doped hosts present to 96."
    )


#: The anchors' runs, in the order of the table, and what each is beside ours.
ANCHOR_RUNS = {
    "nominal, positions fixed": "positions fixed at the nominal grid",
    "true positions, fixed (oracle)": "oracle (positions fixed at the truth)",
    "position correction": "free per-position correction",
    "position correction + global affine": "position correction + its global affine step",
    "position correction + affine constraint": "position correction + its affine constraint",
}
ANCHORS = {"py4dstem": "py4DSTEM", "ptychi": "pty-chi", "ptyrad": "PtyRAD"}


def anchor_table(record: dict, ours: pd.DataFrame, iterations: int) -> pd.DataFrame:
    """Our methods beside the codes people use, on the same case-1 patterns at infinite dose.

    Parameters
    ----------
    record : dict
        The record of ``benchmarks/ptycho_speed.py`` (``benchmarks/results/ptycho_speed.json``).
    ours : pandas.DataFrame
        This page's scores of our methods, indexed by method, with ``"RMSE (pm)"``.
    iterations : int
        Our methods' iterations.

    Returns
    -------
    pandas.DataFrame
        One row per run: code, run, position RMSE (pm, translation removed), iterations and
        seconds per iteration on one CPU thread. An anchor that did not run is one row saying why.
    """
    speed = record["ours"]
    rows = [{"code": "ctxlib (this page)", "run": method, "RMSE (pm)": ours.loc[method, "RMSE (pm)"],
             "iterations": iterations,
             "s / iteration": speed["oracle" if method == "oracle" else "affine"]["seconds_per_iteration"]}
            for method in ours.index if method in ("free", "affine", "affine+line", "icgd", "oracle")]
    for key, code in ANCHORS.items():
        anchor = record.get(key)
        if anchor is None:
            continue
        if anchor.get("status") != "ran":
            rows.append({"code": code, "run": f"did not run: {anchor.get('status')}"})
            continue
        rows += [{"code": f"{code} {anchor['version']}", "run": label, "RMSE (pm)": anchor[name]["rmse_pm"],
                  "iterations": anchor["iterations"], "s / iteration": anchor[name]["seconds_per_iteration"]}
                 for name, label in ANCHOR_RUNS.items() if name in anchor]
    return pd.DataFrame(rows).set_index(["code", "run"])


def ptycho_gpu_text(gpu: dict | None) -> str:
    """The Part II engine's seconds per iteration on a GPU beside one CPU thread of the same machine.

    Parameters
    ----------
    gpu : dict or None
        The record of ``benchmarks/gpu.py`` (``benchmarks/results/gpu.json``), or ``None`` where
        none was made.

    Returns
    -------
    str
        Markdown: the figures of its ``ptycho`` part with the command, or a sentence saying that
        none was measured and how to measure it.
    """
    part = (gpu or {}).get("parts", {}).get("ptycho")
    if part is None:
        return ("**On a GPU**: not measured yet. The engine runs on any torch device (`run_method(..., "
                "device=\"cuda\")`); `python benchmarks/gpu.py ptycho` on a machine with CUDA times it there beside "
                "one CPU thread of the same machine and adds it to `benchmarks/results/gpu.json`, which this page "
                "then shows.")
    gpu_s, cpu_s = part["gpu"], part["cpu_1_thread"]
    return (f"**On a GPU** ({gpu['gpu']}, `python benchmarks/gpu.py ptycho`, {part['date']}, {part['scale']} scale, "
            f"{gpu_s['positions']:,} positions): {gpu_s['oracle']['seconds_per_iteration']:.3f} s per iteration "
            f"object only and {gpu_s['affine']['seconds_per_iteration']:.3f} s with the affine position step, against "
            f"{cpu_s['oracle']['seconds_per_iteration']:.3f} s and {cpu_s['affine']['seconds_per_iteration']:.3f} s on "
            f"one CPU thread of the same machine ({part['gpu_over_cpu']['affine']:.1f}x with the position step); "
            f"final RMSE {gpu_s['affine']['rmse_pm']:.2f} pm on the GPU and {cpu_s['affine']['rmse_pm']:.2f} pm on "
            f"the CPU after {part['iterations']} iterations.")


def full_scale_stages(record: dict) -> pd.DataFrame:
    """One row per stage of the paper-scale run (``benchmarks/results/full_scale.json``): date, the torch device
    a model's epochs ran on, wall time (min), memory peak (GB; and that of a streamed re-scoring, where one ran),
    and how far it got; "–" where a stage has no such number (or it was not measured)."""
    rows = [{"stage": name, "date": r["date"], "device": r.get("device"), "wall time (min)": r["seconds_total"] / 60,
             "memory peak (GB)": r["peak_memory_gb"],
             "memory peak, scored again (GB)": r.get("scoring", {}).get("peak_memory_gb"),
             "done": (f"{r['written'] + r['reused']} feature files" if name == "features"
                      else f"{r['epochs']} of {r['of']} epochs" if "epochs" in r
                      else f"{len(r['models'])} models " + ("exported" if name == "export" else "compared"))}
            for name, r in record.get("stages", {}).items()]
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).set_index("stage").round(2).astype(object).fillna("–")


def full_scale_scores(record: dict) -> pd.DataFrame:
    """Test scores of the latest run of each model that finished the paper's schedule in the paper-scale run.

    Parameters
    ----------
    record : dict
        The record of ``benchmarks/full_scale.py`` (``benchmarks/results/full_scale.json``).

    Returns
    -------
    pandas.DataFrame
        Indexed by model: ``accuracy``, ``entropy_nats``, ``ece`` on the test rows, ``rows``,
        ``bic`` (from the mean cross-entropy on the ``train_rows`` and the parameter count, see
        :func:`ctxlib.learning.metrics.bic`), ``parameters``, ``epochs``, ``hours`` (wall time of training and
        scoring), ``date``, ``batches`` (how the epochs were streamed: pools of whole feature
        files or of every file, see :func:`ctxlib.learning.reading.stream_batches`) and ``run``:
        "current", or "earlier" where the model's current run (on other features) has not
        finished yet and its last finished run is shown; empty when no model has finished.
    """
    finished = {**{name: (stage, "earlier") for name, stage in record.get("finished_earlier", {}).items()},
                **{name: (stage, "current") for name, stage in record.get("stages", {}).items() if "test" in stage}}
    rows = {name: {**stage["test"], "epochs": stage["epochs"], "hours": stage["seconds_total"] / 3600,
                   "batches": _pools(stage),
                   "date": stage["date"], "run": run, "bic": bic(stage["test"]["train_cross_entropy_nats"],
                                                                  stage["test"]["train_rows"],
                                                                  stage["test"]["parameters"])}
            for name, (stage, run) in finished.items()}
    columns = ["accuracy", "entropy_nats", "ece", "rows", "bic", "train_rows", "parameters", "epochs", "hours", "date",
               "batches", "run"]
    stages = record.get("stages", {})
    order = [name for name in stages if name in rows] + [name for name in rows if name not in stages]
    return pd.DataFrame.from_dict({name: rows[name] for name in order}, orient="index",
                                  columns=columns).rename_axis("model")


def checkpoint_provenance(folder: str | Path) -> pd.DataFrame:
    """What the checkpoints in ``folder`` were trained on, beside the feature code of this tree.

    Parameters
    ----------
    folder : str or pathlib.Path
        A folder of training checkpoints (``<model>.json`` beside each ``<model>.pt``).

    Returns
    -------
    pandas.DataFrame
        Indexed by model: ``epochs`` done, the ``features digest`` and the ``feature code``
        digest(s) named by the feature files' stamps (first 8 hex digits), and ``today's feature
        code`` (whether this tree's :data:`ctxlib.learning.dataset.FEATURE_CODE` makes the same
        features: if not, the next run makes the features again and retrains).
    """
    today = source_digest(*FEATURE_CODE)
    rows = {}
    for path in sorted(Path(folder).glob("*.json")):
        meta = json.loads(path.read_text())
        codes = {stamp["code"] for stamp in meta["provenance"]["features"].values() if stamp}
        rows[meta["config"]["model"]] = {"epochs": len(meta["history"]), "features digest": meta["config"]["data"][:8],
                                         "feature code": ", ".join(sorted(code[:8] for code in codes)),
                                         "today's feature code": codes == {today}}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")


def standin_comparison(record: dict, default_model: str) -> tuple[pd.DataFrame, str]:
    """The paper-scale weights beside their quick twins on the stand-ins, and what it means for the default.

    Parameters
    ----------
    record : dict
        The record of ``benchmarks/full_scale.py``; its ``standins`` stage holds the comparison.
    default_model : str
        The model ``ctxlib classify`` uses by default.

    Returns
    -------
    kappas : pandas.DataFrame
        Cohen's kappa (mean over the detectors) indexed by (model, weights), a column per
        stand-in set; empty when the comparison has not run.
    text : str
        What the comparison says, or how to run it.
    """
    comparison = record.get("stages", {}).get("standins")
    if not comparison:
        return pd.DataFrame(), ("No paper-scale model has been compared on the stand-ins yet "
                                "(`python benchmarks/full_scale.py export standins`).")
    kappas = pd.DataFrame({(name, scale): {where.removesuffix(" kappa"): value for where, value in values.items()
                                           if where.endswith(" kappa")}
                           for name, scales in comparison["models"].items() for scale, values in scales.items()}).T
    kappas.index.names = ["model", "weights"]
    text = (f"Cohen's kappa, mean over HAADF and MAADF ({comparison['standins']}; measured {comparison['date']}). "
            f"Paper-scale weights so far: {', '.join(comparison['models'])}. ")
    worse = worse_standins(record, default_model)
    if worse is None:
        text += f"{default_model}, the default of `ctxlib classify`, has none yet. "
    else:
        text += (f"For {default_model}, the default of `ctxlib classify`, they are "
                 + (f"worse on {', '.join(worse)}. " if worse
                    else "at least as good on every stand-in and hard case. "))
    if set(comparison["models"]) != set(MODEL_NAMES):
        return kappas, text + ("`ctxlib classify` keeps the quick weights as its default until all six models have "
                               "finished the paper's schedule (`--weights data/weights-full` chooses the paper-scale "
                               "ones).")
    return kappas, text + (f"All six have finished, so by the rule (the paper-scale weights become the default only "
                           f"where they are at least as good on every set) `ctxlib classify` "
                           + ("takes the paper-scale weights as its default."
                              if default_weights_scale(record, default_model) == "full" else
                              "keeps the quick weights as its default (`--weights data/weights-full` chooses the "
                              "paper-scale ones)."))


def default_weights_scale(record: dict, model: str) -> str:
    """The shipped weights ``ctxlib classify`` should use by default for ``model``, by the stand-in rule.

    "full" where all six models have finished the paper's schedule on features of every
    trained pair (:func:`ctxlib.materials.catalog.trained_pairs`: the undoped hosts too) and
    the paper-scale weights of ``model`` (of each of the five context-aware models for
    :data:`~ctxlib.micrographs.classify.ENSEMBLE`) are at least as good as the quick ones on every
    stand-in set of ``record`` (the record of ``benchmarks/full_scale.py``, see
    :func:`worse_standins`); else "quick".
    """
    stages = record.get("stages", {})
    compared = stages.get("standins", {}).get("models", {})
    pairs = stages.get("features", {})
    every_pair = pairs.get("written", 0) + pairs.get("reused", 0) >= len(trained_pairs())  # counts of files
    members = CONTEXT_MODELS if model == ENSEMBLE else (model,)
    return ("full" if set(compared) == set(MODEL_NAMES) and every_pair
            and all(worse_standins(record, m) == [] for m in members) else "quick")


def worse_standins(record: dict, model: str) -> list[str] | None:
    """The stand-in sets on which ``model``'s paper-scale weights have a lower kappa than its quick ones.

    Parameters
    ----------
    record : dict
        The record of ``benchmarks/full_scale.py``.
    model : str

    Returns
    -------
    list of str or None
        The sets (e.g. ``"twin"``), empty where the paper-scale weights are at least as good on
        every one; None where the stand-in comparison has not run for ``model``.
    """
    scores = record.get("stages", {}).get("standins", {}).get("models", {}).get(model)
    if scores is None:
        return None
    return [where.removesuffix(" kappa") for where, value in scores["full"].items()
            if where.endswith(" kappa") and value < scores["quick"][where]]


def gpu_comparison(gpu: dict, cpu_throughput: dict, full: dict) -> tuple[pd.DataFrame, str]:
    """What a GPU changes, from ``benchmarks/gpu.py``'s record beside the CPU records.

    Parameters
    ----------
    gpu : dict
        The record of ``benchmarks/gpu.py`` (``benchmarks/results/gpu.json``).
    cpu_throughput : dict
        The record of ``benchmarks/training_throughput.py`` (this project's CPU machine).
    full : dict
        The record of ``benchmarks/full_scale.py`` (its features stage: the CPU machine's figure).

    Returns
    -------
    steps : pandas.DataFrame
        Per model, training samples per second at the paper's batch: on the GPU, on one CPU
        thread of the GPU's machine, on one thread of this project's machine; the GPU's factor
        over the latter; and the minutes the paper's schedule takes on the GPU by that rate
        (arithmetic only, no data loading).
    text : str
        The library scans, the feature files and the paper-scale training on the GPU's
        machine, each beside the CPU figure, with the commands.
    """
    parts = gpu["parts"]
    steps = pd.DataFrame({name: {
        "GPU (samples/s)": row["gpu_samples_per_s"],
        "GPU machine, 1 CPU thread (samples/s)": row["cpu_1_thread_samples_per_s"],
        f"this machine, 1 CPU thread (samples/s, {cpu_throughput['date']})":
            cpu_throughput["models"][name]["full_samples_per_s"],
        "GPU / this machine": row["gpu_samples_per_s"] / cpu_throughput["models"][name]["full_samples_per_s"],
        "paper schedule on the GPU (min)": row["gpu_paper_schedule_minutes"]}
        for name, row in parts["training_steps"].items() if name in cpu_throughput["models"]}).T
    steps.index.name = f"model (batch of the paper's scale; {gpu['gpu']}, torch {gpu['torch']})"
    text = []
    if "library" in parts:
        lib = parts["library"]
        text.append(
            f"**Library scans** (`python benchmarks/gpu.py library`, {lib['date']}): {lib['gpu_scans']} random scans of "
            f"the shipped library re-simulated with abTEM on the GPU (CuPy) took a median "
            f"{lib['gpu_median_after_first_s']:.2f} s per scan after the first ({lib['gpu_seconds_per_scan'][0]:.0f} s: "
            f"compiling kernels), against {lib['cpu_median_after_first_s']:.2f} s on the CPU of the same machine "
            f"({lib['cpu_cores']} cores), {lib['cpu_median_after_first_s'] / lib['gpu_median_after_first_s']:.1f}x; "
            f"the images differ from the shipped ones by at most {lib['gpu_max_relative_difference']:.1e} of their "
            f"maximum (the float16 storage alone: 2.4e-4).")
    if "features" in parts:
        feat, here = parts["features"], full.get("stages", {}).get("features", {})
        rate_here = feat["rows"] / here["seconds_total"] if here else float("nan")
        same = parts.get("same_features")
        text.append(
            f"**Paper-scale features** (`full_scale.py features --workers {feat['workers']}`): {feat['rows'] / 1e6:.1f} M "
            f"rows in {feat['seconds'] / 60:.1f} min on {feat['workers']} processes of the GPU's machine "
            f"({feat['rows_per_s'] / 1e3:,.0f} k rows/s), against {here.get('seconds_total', float('nan')) / 60:.1f} min "
            f"on this machine's {full.get('cpu_cores', '?')} cores ({rate_here / 1e3:,.0f} k rows/s); "
            + (f"{same['same_bytes']} of {same['files']} files are byte for byte the files made here "
               f"(`python benchmarks/gpu.py same_features`)." if same else "their bytes have not been compared here."))
    runs = {part[len("training "):]: run for part, run in parts.items() if part.startswith("training ")}
    if runs:
        at_once = max(run["models_on_the_gpu_at_once"] for run in runs.values())
        steps[f"paper-scale epochs trained on the GPU ({at_once} models at once)"] = pd.Series(
            {name: f"{run['epochs_this_call']} of {run['of']}" for name, run in runs.items()})
        steps["streamed (samples/s)"] = pd.Series({name: run["samples_per_s"] for name, run in runs.items()})
        text.append(
            f"**Paper-scale training on the GPU** (`python benchmarks/gpu.py training --model MODEL --concurrent "
            f"{at_once}`, {min(run['date'] for run in runs.values())}): the last two columns above. Each model trained "
            "in its own process, its batches streamed from the memory-mapped feature files as on the CPU, into the "
            "checkpoints of `data/training-full-seed0`, which `python benchmarks/full_scale.py` resumes on any machine. "
            + " ".join(sorted({run["source"][0].upper() + run["source"][1:] + "."
                               for run in runs.values() if "source" in run})))
    return steps, "\n\n".join(text)


def earlier_agreement(record: dict) -> dict[str, pd.DataFrame]:
    """The earlier weights sets of ``benchmarks/results/real_images.json`` (labels ``"before: ..."``), oldest first:
    short name (the label without ``"before: "``) -> the run's :func:`~ctxlib.micrographs.validation.model_agreement`
    rows, indexed by the stated dopant.

    Examples
    --------
    >>> runs = {"before: abc (old)": {"rows": [{"dopant": "none", "all five agree": 0.5}]}, "shipped": {"rows": []}}
    >>> float(earlier_agreement({"runs": runs})["abc (old)"].loc["none", "all five agree"])
    0.5
    """
    return {label.removeprefix("before: "): pd.DataFrame(run["rows"]).set_index("dopant")
            for label, run in record["runs"].items() if label.startswith("before: ")}


def seed_spread(record: dict) -> pd.DataFrame:
    """Test accuracy and posterior entropy of each model over the seeds of ``benchmarks/seeds.py``.

    Parameters
    ----------
    record : dict
        The record of ``benchmarks/seeds.py`` (``benchmarks/results/seeds.json``): one run per seed.

    Returns
    -------
    pandas.DataFrame
        Indexed by model (the §5 order): ``seeds``; ``accuracy_mean``, ``accuracy_sd`` (sample standard
        deviation over seeds), ``accuracy_min``, ``accuracy_max`` as fractions; ``entropy_mean``, ``entropy_sd``
        in nats.

    Examples
    --------
    >>> runs = [{"seed": s, "models": {"m": {"test_accuracy": a, "entropy_nats": 0.1}}}
    ...         for s, a in enumerate((0.90, 0.92, 0.94))]
    >>> seed_spread({"runs": runs}).loc["m", ["seeds", "accuracy_mean", "accuracy_sd"]].round(3).tolist()
    [3.0, 0.92, 0.02]
    """
    rows = pd.DataFrame([{"model": name, "seed": run["seed"], **scores}
                         for run in record["runs"] for name, scores in run["models"].items()])
    grouped = rows.groupby("model")
    table = pd.DataFrame({"seeds": grouped["seed"].nunique(),
                          "accuracy_mean": grouped["test_accuracy"].mean(), "accuracy_sd": grouped["test_accuracy"].std(),
                          "accuracy_min": grouped["test_accuracy"].min(), "accuracy_max": grouped["test_accuracy"].max(),
                          "entropy_mean": grouped["entropy_nats"].mean(), "entropy_sd": grouped["entropy_nats"].std()})
    return table.reindex([n for n in MODEL_NAMES if n in table.index] + [n for n in table.index if n not in MODEL_NAMES])


def seed_entropy_reduction(record: dict) -> np.ndarray:
    """Per seed of ``benchmarks/seeds.py``, the share by which context cuts the mean posterior entropy: MLP-NoContext's
    against the mean of the five context-aware models (:func:`ctxlib.learning.evaluation.entropy_cut`)."""
    return np.array([entropy_cut({name: scores["entropy_nats"] for name, scores in run["models"].items()}).reduction
                     for run in record["runs"]])


def seed_run(record: dict, seed: int) -> dict:
    """The run of one seed in the record of ``benchmarks/seeds.py`` (``benchmarks/results/seeds.json``).

    Examples
    --------
    >>> seed_run({"runs": [{"seed": 1, "test_rows": 10}, {"seed": 0, "test_rows": 12}]}, 0)["test_rows"]
    12
    """
    for run in record["runs"]:
        if run["seed"] == seed:
            return run
    raise KeyError(f"the seeds record has no run of seed {seed}; it has {[run['seed'] for run in record['runs']]}")


def pixel_geometry_table(record: dict) -> pd.DataFrame:
    """Scores of the six models trained with each patch geometry, from ``benchmarks/pixel_geometry.py``.

    Parameters
    ----------
    record : dict
        The record ``benchmarks/results/pixel_geometry.json``: under ``arms``, per rule ("per-axis", "mean") and
        model, ``test_accuracy``, ``standin_kappa`` and ``standin_accuracy`` (fractions).

    Returns
    -------
    pandas.DataFrame
        Indexed by model; columns ``(rule, "test accuracy (%)")``, ``(rule, "stand-in kappa")`` (Cohen's kappa,
        unitless) and ``(rule, "stand-in accuracy (%)")`` for each rule.
    """
    return pd.DataFrame({(rule, column): {name: 100 * v[key] if key != "standin_kappa" else v[key]
                                          for name, v in arms.items()}
                         for rule, arms in record["arms"].items()
                         for column, key in (("test accuracy (%)", "test_accuracy"),
                                             ("stand-in kappa", "standin_kappa"),
                                             ("stand-in accuracy (%)", "standin_accuracy"))})


def paper_schedule_hours(throughput: dict) -> float:
    """Hours of one CPU core the paper's schedule takes for the six models together, by the record of
    ``benchmarks/training_throughput.py`` (each model's ``paper_schedule_hours``, summed in the §5 order).

    Examples
    --------
    >>> paper_schedule_hours({"models": {name: {"paper_schedule_hours": 1.5} for name in MODEL_NAMES}})
    9.0
    """
    return sum(throughput["models"][name]["paper_schedule_hours"] for name in MODEL_NAMES)


def _pools(stage: dict) -> str:
    """How a paper-scale stage streamed its epochs (:func:`ctxlib.learning.reading.stream_batches`)."""
    return f"pools of {stage['shuffle']}, {stage['pool_rows'] / 1e6:g} M rows"


def superseded_runs(record: dict) -> pd.DataFrame:
    """The paper-scale runs that were superseded (the record's ``superseded`` entry), one row per model.

    Parameters
    ----------
    record : dict
        The record of ``benchmarks/full_scale.py`` (``benchmarks/results/full_scale.json``).

    Returns
    -------
    pandas.DataFrame
        Indexed by model: how the epochs were batched, the last epoch's running training accuracy (%) and loss
        (nats), the final model's cross-entropy on the training rows (nats), its test accuracy (%) and why the
        run was superseded; empty where none was.
    """
    return pd.DataFrame({name: {"batches": _pools(r),
                                "last epoch, training accuracy (running, %)": 100 * r["last_epoch"]["accuracy"],
                                "last epoch, training loss (running, nats)": r["last_epoch"]["loss"],
                                "training rows, cross-entropy of the final model (nats)":
                                    r["test"]["train_cross_entropy_nats"],
                                "test accuracy (%)": 100 * r["test"]["accuracy"], "why superseded": r["why"]}
                         for name, r in record.get("superseded", {}).items()}).T


def icgd_cases() -> dict[str, str]:
    """The cases every iCGD record must hold (``benchmarks/icgd.py``, ``ctxlib.ptycho.data.CASES``) and their
    names on the page."""
    return {"affine": "case 1 (affine)", "lines": "case 2 (lines)"}


def icgd_rows(record: dict, *, engine: str = "single slice", cases: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The iCGD benchmark grid of one engine: per case, dose and method, the final position RMSE over the seeds.

    Parameters
    ----------
    record : dict
        The record of ``benchmarks/icgd.py`` (``benchmarks/results/icgd.json``).
    engine : str
        Which engine's grid: ``"single slice"`` or e.g. ``"3 slices, 1.586 A apart"``.
    cases : tuple of str or None
        The cases the grid must hold (``None``: every case of :func:`icgd_cases`; an engine run on case 1 alone,
        such as the wider window's, is read with ``("affine",)``).

    Returns
    -------
    pandas.DataFrame
        Indexed by case, dose (``inf`` or e.g. ``1e+04`` e/A^2) and method: RMSE mean, standard deviation, lowest
        and highest (pm, translation removed), the data error over the oracle's (mean) and seconds per iteration.

    Raises
    ------
    ValueError
        If the record has no grid of ``engine``, or the grid misses one of ``cases``.
    """
    engines = record.get("engines", {})
    if engine not in engines:
        raise ValueError(f"the iCGD record has no engine {engine!r} (it has {sorted(engines)}); "
                         "run python benchmarks/icgd.py")
    entry = engines[engine]
    rows = pd.DataFrame([{"case": r["case"], "dose": r["dose"], "method": r["method"],
                          "RMSE (pm)": r["rmse_pm"]["mean"], "RMSE std (pm)": r["rmse_pm"]["std"],
                          "RMSE min (pm)": r["rmse_pm"]["min"], "RMSE max (pm)": r["rmse_pm"]["max"],
                          "data error / oracle": r["data_error_over_oracle"]["mean"],
                          "s / iteration": r["seconds_per_iteration"]} for r in entry["rows"]])
    wanted = icgd_cases() if cases is None else cases
    missing = [case for case in wanted if rows.empty or case not in set(rows["case"])]
    if missing:
        raise ValueError(f"the iCGD record of engine {engine!r} has no rows for case {missing}; "
                         f"run python benchmarks/icgd.py --slices {entry['slices']['count']}")
    return rows.set_index(["case", "dose", "method"])


def icgd_summary(record: dict, case: str, *, engine: str = "single slice") -> pd.DataFrame:
    """Columns ``dose``, ``method``, ``mean``, ``std`` (final RMSE, pm) of one case, the oracle left out: what
    :func:`ctxlib.book.figures.ptycho.dose_sweep` draws."""
    rows = icgd_rows(record, engine=engine).xs(case, level="case").reset_index()
    rows = rows[rows["method"] != "oracle"]
    return rows.rename(columns={"RMSE (pm)": "mean", "RMSE std (pm)": "std"})[["dose", "method", "mean", "std"]]


def icgd_claim(record: dict, *, engine: str = "single slice", target_pm: float = 10.0) -> pd.DataFrame:
    """Where iCGD stands against the other methods, case by case and dose by dose.

    Parameters
    ----------
    record : dict
        The record of ``benchmarks/icgd.py``.
    engine : str
        As :func:`icgd_rows`.
    target_pm : float
        The position-RMSE target, pm.

    Returns
    -------
    pandas.DataFrame
        Indexed by case and dose: iCGD's RMSE (mean and standard deviation, pm), the best other method (lowest mean)
        and its RMSE, ``icgd best`` (iCGD's mean lowest of all), ``clearly`` (and lower than the runner-up's by more
        than both standard deviations together), and ``target met`` (iCGD's highest RMSE over the seeds at most
        ``target_pm``).
    """
    rows = icgd_rows(record, engine=engine)
    out = []
    for (case, dose), group in rows.groupby(level=["case", "dose"], sort=False):
        group = group.droplevel(["case", "dose"]).drop(index="oracle", errors="ignore")
        icgd, others = group.loc["icgd"], group.drop(index="icgd")
        best = others["RMSE (pm)"].idxmin()
        runner = others.loc[best]
        out.append({"case": icgd_cases().get(case, case), "dose": dose, "icgd (pm)": icgd["RMSE (pm)"],
                    "icgd std (pm)": icgd["RMSE std (pm)"], "best other": best, "best other (pm)": runner["RMSE (pm)"],
                    "best other std (pm)": runner["RMSE std (pm)"],
                    "icgd best": bool(icgd["RMSE (pm)"] < runner["RMSE (pm)"]),
                    "clearly": bool(runner["RMSE (pm)"] - icgd["RMSE (pm)"] > icgd["RMSE std (pm)"]
                                    + runner["RMSE std (pm)"]),
                    "target met": bool(icgd["RMSE max (pm)"] <= target_pm)})
    return pd.DataFrame(out).set_index(["case", "dose"])


def icgd_curves(record: dict, case: str, dose: str, *, engine: str = "single slice") -> dict[str, np.ndarray]:
    """``{method: mean position RMSE after each iteration, pm}`` of one case and dose (``inf``, ``1e+04``, ...),
    the oracle left out."""
    found = {r["method"]: np.asarray(r["rmse_curve_pm"]) for r in record["engines"][engine]["rows"]
             if r["case"] == case and r["dose"] == dose and r["method"] != "oracle"}
    if not found:
        raise ValueError(f"the iCGD record of engine {engine!r} has no runs of case {case!r} at dose {dose!r}")
    return found


def icgd_drift(record: dict, *, at: tuple[int, ...] = (20, 30, 40, 60), key: str = "truth_drift") -> pd.DataFrame:
    """The truth-drift diagnostic of the record: position RMSE (pm) after the listed iterations, one row per
    patterns and engine (positions held at the truth for the record's ``hold`` iterations, then free).
    ``key``: which diagnostic (``"truth_drift"``, or ``"truth_drift_window2"`` on the window of twice the side)."""
    drift = record.get(key)
    if drift is None:
        window = key.removeprefix("truth_drift_window") if key != "truth_drift" else "1"
        raise ValueError(f"the iCGD record has no {key} entry; run python benchmarks/icgd.py --drift --window {window}")
    columns = {k: f"iteration {k}" + (" (held)" if k <= drift["hold"] else "") for k in at}
    return pd.DataFrame([{"patterns": r["patterns"], "engine": r["engine"],
                          **{label: r["curve_pm"][k - 1] for k, label in columns.items()}}
                         for r in drift["rows"]]).set_index(["patterns", "engine"])


def icgd_numbers(record: dict, *, engine: str = "single slice", prefix: str = "",
                 cases: tuple[str, ...] | None = None) -> dict[str, str]:
    """Every final RMSE of an iCGD record as text for a page's prose, named ``rmse_<method>_<case>_<dose>``.

    Parameters
    ----------
    record : dict
        The record of ``benchmarks/icgd.py``.
    engine : str
        As :func:`icgd_rows`.
    prefix : str
        Put before every name (to glue the numbers of several engines on one page).
    cases : tuple of str or None
        As :func:`icgd_rows`.

    Returns
    -------
    dict
        E.g. ``{"rmse_icgd_affine_inf": "10.5 ± 0.1 pm", "rmse_affine_line_lines_1e4": "12.1 ± 1.2 pm", ...}``: mean
        ± standard deviation over the seeds (pm); ``affine+line`` is named ``affine_line``, doses ``inf``, ``1e6``,
        ``1e5``, ... (electrons per square Angstrom).
    """
    rows = icgd_rows(record, engine=engine, cases=cases)
    return {f"{prefix}rmse_{method.replace('+', '_')}_{case}_{dose.replace('e+0', 'e')}":
            f"{row['RMSE (pm)']:.1f} ± {row['RMSE std (pm)']:.1f} pm" for (case, dose, method), row in rows.iterrows()}


def icgd_engines(record: dict, *, dose: str = "inf") -> pd.DataFrame:
    """Final position RMSE (pm, mean over the seeds) of each method with each engine of an iCGD record at one
    dose: indexed by case and method, one column per engine (``"single slice"``, ``"3 slices, 1.586 A apart"``,
    ...) that ran at that dose (empty where an engine did not run a case)."""
    columns = {}
    for engine in record.get("engines", {}):
        rows = icgd_rows(record, engine=engine, cases=())
        if dose in set(rows.index.get_level_values("dose")):
            columns[engine] = rows.xs(dose, level="dose")["RMSE (pm)"]
    return pd.DataFrame(columns)
