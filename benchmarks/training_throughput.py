"""Training and inference throughput of the six models: ``python benchmarks/training_throughput.py``.

For each model and for its batch size at the quick and the full (paper) scale, times
training steps (forward, cross-entropy, backward, Adam) on random 31-feature rows and
reports samples per second (the best of a few repeats after a warm-up step, one torch
thread as :func:`ctxlib.learning.training.train` uses), plus
inference rows per second. From these it projects the wall time of the paper's
schedule on this machine (~44 M training rows per epoch). Writes
``benchmarks/results/training_throughput.json``, which the book shows.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from record import write_result

from ctxlib.learning.evaluation import predict_logits
from ctxlib.learning.models import build_model
from ctxlib.learning.spec import MODEL_NAMES
from ctxlib.learning.training import PAPER_TRAIN_ROWS, model_inputs, schedule, torch_threads


def steps_per_second(name: str, batch_size: int, steps: int, repeats: int = 3, device: str = "cpu") -> float:
    """Training steps per second at ``batch_size`` (best of ``repeats`` runs of ``steps`` steps) on ``device``
    (the batch already there: the model's arithmetic alone, no data loading)."""
    torch.manual_seed(0)
    model = build_model(name).train().to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    X = model_inputs(name, np.random.default_rng(0).normal(size=(batch_size, 31)).astype(np.float32)).to(device)
    y = torch.randint(0, 5, (batch_size,), device=device)

    def step():
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(X), y).backward()
        optimiser.step()

    def synchronise():
        if device != "cpu":
            torch.cuda.synchronize()

    step()  # warm-up
    synchronise()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        synchronise()
        best = min(best, (time.perf_counter() - start) / steps)
    return 1 / best


def inference_rate(name: str, rows: int = 200_000, batch_size: int = 65536) -> float:
    """Rows per second of :func:`ctxlib.learning.evaluation.predict_logits` in eval mode."""
    model = build_model(name).eval()
    X = np.random.default_rng(0).normal(size=(rows, 31)).astype(np.float32)
    predict_logits(model, name, X[:batch_size], batch_size=batch_size)
    start = time.perf_counter()
    predict_logits(model, name, X, batch_size=batch_size)
    return rows / (time.perf_counter() - start)


def main() -> dict:
    with torch_threads(1):
        return measure()


def measure() -> dict:
    models = {}
    for name in MODEL_NAMES:
        row = {"inference_rows_per_s": inference_rate(name)}
        for scale in ("quick", "full"):
            config = schedule(name, scale)
            rate = steps_per_second(name, config.batch_size, steps=max(2, min(50, 400_000 // config.batch_size)))
            row[f"{scale}_batch"] = config.batch_size
            row[f"{scale}_samples_per_s"] = rate * config.batch_size
        row["paper_schedule_hours"] = config.epochs * PAPER_TRAIN_ROWS / row["full_samples_per_s"] / 3600
        models[name] = row
        print(f"{name:14s} quick batch {row['quick_batch']:>6,}: {row['quick_samples_per_s']:>10,.0f} samples/s | "
              f"paper batch {row['full_batch']:>7,}: {row['full_samples_per_s']:>10,.0f} samples/s "
              f"(paper schedule ~{row['paper_schedule_hours']:.1f} h) | inference {row['inference_rows_per_s']:,.0f} rows/s")
    return write_result("training_throughput", {"torch_threads": torch.get_num_threads(), "models": models,
                                                "paper_train_rows": PAPER_TRAIN_ROWS},
                        "python benchmarks/training_throughput.py")


if __name__ == "__main__":
    main()
