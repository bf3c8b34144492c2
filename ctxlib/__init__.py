"""ctxlib: the computations behind the reproduction of *Context-aware deep learning for
defect classification in atomic-resolution STEM*.

The subpackages are the pipeline's stages, in the order data flows through them; a stage
imports only from the stages before it (``tests/test_architecture.py`` keeps it so):

``base`` -> ``materials`` -> ``simulation`` -> ``encoding`` -> ``learning`` -> ``micrographs`` -> ``book``

``base`` holds what every stage shares, ``book`` the book's own figures and runner. Each
subpackage's docstring says what comes in and what goes out; ``python -m
ctxlib.book.architecture`` prints the stage diagram.
"""

__version__ = "0.1.0"
