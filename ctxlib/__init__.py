"""ctxlib: the computations behind the reproduction of *Context-aware deep learning for
defect classification in atomic-resolution STEM*.

One module per idea: ``elements`` and ``catalog`` (what can be encoded and simulated),
``context`` (the 23-number context vector), ``zernike`` (the contrast encoder),
``lattice``, ``columns``, ``patches`` and ``intensity`` (from a micrograph to centred,
normalised patches), ``features`` (the 31-number vector of every column of an image),
``motifs`` (the 34 local configurations), ``simulation`` (abTEM), ``library`` (the
clean simulated library), ``augmentation`` and ``dataset`` (noisy features and splits),
``models``, ``training``, ``evaluation``, ``metrics``, ``representation`` and
``pretrained`` (the §5 classifiers, their scores and the shipped weights), ``attention``
(reading the attention maps), ``fullfield`` and ``io`` (classifying a user's micrograph;
the command line ``ctxlib classify``), ``paper`` (the paper's own numbers), ``paths``,
``plotting`` (the book's figures) and ``reproduce`` (the papermill runner,
``python -m ctxlib.reproduce``).
"""

__version__ = "0.1.0"
