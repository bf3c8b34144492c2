"""Model architectures, and the batch dependence of the paper's feature-feature attention."""

import pytest
import torch

from ctxlib.learning.models import (MLP, FeatureAttentionClassifier, build_model, build_models, model_descriptions,
                                    parameter_counts)
from ctxlib.learning.spec import DEEP_HIDDEN, MODEL_NAMES


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_maps_its_inputs_to_five_logits(name):
    model = build_model(name).eval()
    d = 6 if name == "MLP-NoContext" else 31
    assert model(torch.randn(7, d)).shape == (7, 5)


def test_mlp_layer_structure():
    simple = MLP(31)
    widths = [m.out_features for m in simple.body if isinstance(m, torch.nn.Linear)]
    assert widths == [64, 32, 16, 8] and simple.head.out_features == 5
    deep = build_model("MLP-Deep")
    assert sum(isinstance(m, torch.nn.Linear) for m in deep.body) == len(DEEP_HIDDEN) == 11
    dropouts = [m.p for m in deep.body if isinstance(m, torch.nn.Dropout)]
    assert dropouts == [0.1] * 11


def test_built_models_their_parameter_counts_and_boxes_in_order():
    built = build_models(("MLP-Simple", "MLP-NoContext", "attn-4k"))
    assert list(built) == ["MLP-Simple", "MLP-NoContext", "attn-4k"]
    assert isinstance(built["MLP-Simple"], MLP) and isinstance(built["attn-4k"], FeatureAttentionClassifier)
    # by hand: weights and biases of 6 (or 31) -> 64 -> 32 -> 16 -> 8 -> 5; all but the first layer's weights here
    hidden = 64 + (64 * 32 + 32) + (32 * 16 + 16) + (16 * 8 + 8) + (8 * 5 + 5)
    counts = parameter_counts(built)
    assert list(counts) == list(built)
    assert counts["MLP-NoContext"] == 6 * 64 + hidden == 3237 and counts["MLP-Simple"] == 31 * 64 + hidden == 4837
    assert counts["attn-4k"] == sum(p.numel() for p in built["attn-4k"].parameters())
    boxes = model_descriptions(built)
    assert list(boxes) == list(built)
    assert boxes["MLP-NoContext"] == ["input (6 features)", "Linear 6->64, ReLU, Dropout 0.1",
                                      "Linear 64->32, ReLU, Dropout 0.1", "Linear 32->16, ReLU, Dropout 0.1",
                                      "Linear 16->8, ReLU, Dropout 0.1", "Linear 8->5, softmax"]
    assert len(boxes["attn-4k"]) == 2 + 2 * 3 + 2 and boxes["attn-4k"][2].startswith("layer 1: V softmax(Q^T K")


def _trained_attention(seed=0, steps=20, batch=64):
    torch.manual_seed(seed)
    model = FeatureAttentionClassifier(31)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(steps):
        x, y = torch.randn(batch, 31), torch.randint(0, 5, (batch,))
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimiser.step()
    return model.eval()


def test_paper_attention_depends_on_the_batch_and_frozen_mode_does_not():
    model = _trained_attention()
    sample = torch.randn(1, 31)
    others_a, others_b = torch.randn(63, 31), 3 * torch.randn(63, 31) + 1
    with torch.no_grad():
        in_a = model(torch.cat([sample, others_a]))[0]
        in_b = model(torch.cat([sample, others_b]))[0]
        assert not torch.allclose(in_a, in_b, atol=1e-4)  # the paper's block: batch mates change the logits
        model.set_attention_mode("frozen")
        in_a = model(torch.cat([sample, others_a]))[0]
        in_b = model(torch.cat([sample, others_b]))[0]
        alone = model(sample)[0]
    assert torch.allclose(in_a, in_b, atol=1e-5) and torch.allclose(in_a, alone, atol=1e-5)


def test_attention_maps_are_row_stochastic_and_modes_are_validated():
    model = _trained_attention(steps=2)
    maps = model.attention_maps(torch.randn(16, 31))
    assert len(maps) == 3 and all(m.shape == (31, 31) for m in maps)
    assert all(torch.allclose(m.sum(dim=-1), torch.ones(31)) for m in maps)
    with pytest.raises(ValueError, match="attention mode 'mean' is not one of"):
        model.set_attention_mode("mean")
    with pytest.raises(RuntimeError, match="needs statistics from training"):
        FeatureAttentionClassifier(31).eval().set_attention_mode("frozen")(torch.randn(2, 31))
    with pytest.raises(ValueError, match="model 'ResNet' is not in the catalog; allowed: MLP-NoContext"):
        build_model("ResNet")
