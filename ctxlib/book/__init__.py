"""The book's own helpers (stage 6, last).

In: everything above. Out: the figures of each section (``figures``), the paper's own
numbers (``paper``), the stage diagram of the code (``architecture``) and the papermill
runner ``python -m ctxlib.book.reproduce`` (``reproduce``).
"""

from ctxlib.base.lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "architecture": [
            "STAGES",
            "SIDE_STAGES",
            "DEFERRED_IMPORTS",
            "PACKAGE",
            "Edge",
            "module_name",
            "stage_of",
            "import_edges",
            "allowed",
            "rule_violations",
            "stage_edges",
            "module_table",
        ],
        "paper": ["table1", "paper_number", "table1_agreement"],
        "settings": ["settings_table", "settings_markdown"],
    },
)
