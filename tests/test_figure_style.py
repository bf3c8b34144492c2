"""The book's figures are readable at page width (ctxlib.book.figures.style.finish)."""

import ast
import inspect

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from ctxlib.book.figures import attention, calibration, dataset, encoding, ptycho, training, trust, validation
from ctxlib.book.figures.style import MIN_RENDERED_PT, PAGE_WIDTH_PX, finish, smallest_rendered_pt
from ctxlib.encoding.features import FEATURE_NAMES

MODULES = (training, calibration, attention, encoding, dataset, validation, trust, ptycho)
MODELS = ["MLP-NoContext", "MLP-Simple", "MLP-Deep", "attn-4k", "attn-200k", "attn-400k"]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_finish_enlarges_text_that_would_render_too_small():
    fig, ax = plt.subplots(figsize=(14, 3))
    ax.plot([0, 1])
    ax.set_xticks([0, 1], ["a", "b"], fontsize=5)
    ax.legend(["line"], fontsize=5)
    ax.set_title("title", fontsize=6)
    assert smallest_rendered_pt(fig) < MIN_RENDERED_PT
    finish(fig)
    assert smallest_rendered_pt(fig) >= MIN_RENDERED_PT
    fig.canvas.draw()
    assert fig.get_tightbbox(fig.canvas.get_renderer()).width * fig.dpi > PAGE_WIDTH_PX  # scaled down, still readable


def test_every_figure_function_finishes_its_figure():
    for module in MODULES:
        tree = ast.parse(inspect.getsource(module))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and "plt." in ast.unparse(node) and not node.name.startswith("_"):
                last = node.body[-1]
                assert isinstance(last, ast.Return) and ast.unparse(last.value).startswith("finish("), \
                    f"{module.__name__}.{node.name}"


def _figure(name):
    rng = np.random.default_rng(0)
    classes = list("ABCDE")
    if name == "effects":
        effects = ["none", "astigmatism", "coma", "line offsets", "1/f noise", "8-bit export", "smoothing",
                   "finer pixels", "all at once"]
        f1 = rng.uniform(0.9, 1.0, (len(effects), 3))
        columns = {f"{d} {k}": f1[:, i] + shift for i, d in enumerate(["single vacancy", "double vacancy", "dopant"])
                   for k, shift in (("F1", 0.0), ("95 % low", -0.02), ("95 % high", 0.01))}
        return trust.effect_plot(pd.DataFrame(columns, index=effects))
    if name == "entropy":
        return calibration.entropy_chart(dict(zip(MODELS, [0.6, 0.04, 0.03, 0.05, 0.2, 0.3])), 0.628, 0.0375)
    if name == "confidence":
        return calibration.confidence_histograms({n: rng.dirichlet(np.ones(5) * 0.3, 500) for n in MODELS})
    if name == "accuracy":
        table = pd.DataFrame({"train": rng.uniform(0.7, 1, 6), "test": rng.uniform(0.7, 1, 6)}, index=MODELS)
        return training.accuracy_chart(table, {n: 98.5 for n in MODELS})
    if name == "attention":
        maps = {(r, c): rng.random((31, 31)) for r in classes for c in ("60 keV", "80 keV", "100 keV")}
        return attention.attention_map_grid(maps, classes, ["60 keV", "80 keV", "100 keV"], FEATURE_NAMES, (23, 29))
    if name == "context":
        return encoding.context_bars(rng.random(23), "WSe2 + Cr, HAADF, 80 keV")
    return encoding.zernike_basis_images(32, (0, 2, 4, 6, 8, 10))


@pytest.mark.parametrize("name", ["entropy", "confidence", "accuracy", "attention", "context", "zernike", "effects"])
def test_figures_render_every_text_at_8_pt_or_more(name):
    assert smallest_rendered_pt(_figure(name)) >= MIN_RENDERED_PT


def test_entropy_values_are_not_drawn_over_the_reference_lines():
    fig = calibration.entropy_chart(dict(zip(MODELS, [0.6, 0.04, 0.03, 0.05, 0.2, 0.3])), 0.628, 0.0375)
    ax = fig.axes[0]
    assert not ax.texts  # the values are in the tick labels, outside the data area
    assert [t.get_text() for t in ax.get_yticklabels()][1] == "MLP-Simple  0.040"
    assert "paper, no context: 0.628" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_confidence_histograms_have_a_y_label():
    fig = calibration.confidence_histograms({n: np.full((3, 5), 0.2) for n in MODELS})
    assert all(ax.get_ylabel() for ax in fig.axes[::3])


@pytest.mark.parametrize("pixel_size, zoom, length_a, label", [(0.127, None, 10.0, "1 nm"), (0.127, (50, 150), 2.0, "2 Å"),
                                                              (0.05, None, 2.0, "2 Å"), (0.2, None, 10.0, "1 nm")])
def test_scale_bar_is_a_round_length_about_a_fifth_of_the_view(pixel_size, zoom, length_a, label):
    from matplotlib.patches import Rectangle
    from matplotlib.text import Text

    from ctxlib.micrographs.overlay import scale_bar

    fig, ax = plt.subplots()
    ax.imshow(np.zeros((300, 300)), cmap="gray")
    if zoom:
        ax.set_xlim(*zoom)
    scale_bar(ax, pixel_size)
    bar = ax.artists[-1]
    width_px = [r.get_width() for r in bar.findobj(Rectangle) if r.get_width() > 0 and r.get_height() > 0]
    assert width_px == pytest.approx([length_a / pixel_size])
    assert [t.get_text() for t in bar.findobj(Text) if t.get_text()] == [label]
