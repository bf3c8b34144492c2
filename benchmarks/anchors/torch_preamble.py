"""The start of every anchor runner that needs torch and torchvision (pty-chi, PtyRAD): one CPU thread, then
torchvision, whose CPU build beside PyPI's CUDA-built wheel needs two schemas defined first. Imported by the
runners, in the anchors' own environments."""

import json, sys, time, numpy as np, torch
torch.set_num_threads(1)
try:
    import torchvision  # noqa: F401  (pty-chi's utils and PtyRAD's model, losses and constraints import it)
except RuntimeError as error:
    # PyPI's torchvision 0.28.0 is built against CUDA torch: beside the CPU torch its C ops do not load, which it
    # allows for (every other fake kernel is registered only when they did), but it registers fake kernels for
    # nms and qnms unconditionally, and that fails. Define those two schemas (unused by both anchors) and import
    # again.
    if "torchvision::nms" not in str(error):
        raise
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    _schemas = torch.library.Library("torchvision", "FRAGMENT")
    for op in ("nms", "qnms"):
        _schemas.define(op + "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    import torchvision  # noqa: F401
