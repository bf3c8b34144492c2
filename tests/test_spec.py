"""A model knows its inputs, its schedule and its attention mode; nothing dispatches on its name."""

import numpy as np
import pytest
import torch

from ctxlib.encoding.features import FEATURE_NAMES
from ctxlib.encoding.zernike import ZERNIKE_FEATURE_NAMES
from ctxlib.learning.models import attention_mode, build_model
from ctxlib.learning.spec import ATTENTION_MODELS, CONTEXT_MODELS, MODEL_NAMES, ModelSpec, model_spec


def test_inputs_are_named_features_and_select_those_columns():
    X = np.arange(4 * 31, dtype=np.float64).reshape(4, 31)
    no_context = model_spec("MLP-NoContext")
    assert no_context.inputs == ZERNIKE_FEATURE_NAMES and not no_context.uses_context
    expected = X[:, [FEATURE_NAMES.index(n) for n in ZERNIKE_FEATURE_NAMES]]
    assert np.array_equal(no_context.select(X), expected) and no_context.select(X).dtype == np.float32
    assert np.array_equal(model_spec("attn-4k").select(X), X.astype(np.float32))
    assert CONTEXT_MODELS == MODEL_NAMES[1:] and ATTENTION_MODELS == ("attn-4k", "attn-200k", "attn-400k")


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_built_model_reads_as_many_inputs_as_its_spec(name):
    spec = model_spec(name)
    model = build_model(spec).eval()
    if spec.kind == "attention":
        model.set_attention_mode("batch")
    assert model(torch.zeros(3, spec.n_inputs)).shape == (3, 5)


def test_bad_specs_and_inputs_are_refused():
    with pytest.raises(ValueError, match="inputs \\['Z99'\\] are not feature names"):
        ModelSpec("x", "mlp", ("Z99",), (8,), 64, 1)
    with pytest.raises(ValueError, match="attention_mode None"):
        ModelSpec("x", "attention", FEATURE_NAMES, (), 64, 1, None)
    with pytest.raises(ValueError, match="expected features of shape \\(N, 31\\), got \\(2, 6\\)"):
        model_spec("MLP-Simple").select(np.zeros((2, 6)))
    with pytest.raises(ValueError, match="model 'GPT'"):
        model_spec("GPT")


def test_attention_mode_is_set_and_restored_even_on_error():
    model = build_model("attn-4k")
    model.set_attention_mode("batch")
    with attention_mode(model, "frozen"):
        assert model.attention_mode == "frozen"
    assert model.attention_mode == "batch"
    with pytest.raises(RuntimeError), attention_mode(model, "frozen"):
        raise RuntimeError("inside")
    assert model.attention_mode == "batch"
    mlp = build_model("MLP-Simple")
    with attention_mode(mlp, "frozen") as same:
        assert same is mlp
