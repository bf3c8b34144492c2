"""Colours shared by the book's figures (context blocks, sublattices).
"""

from __future__ import annotations

BLOCK_COLOURS = {"M": "tab:blue", "X": "tab:cyan", "D": "tab:purple", "detector": "tab:orange", "energy": "tab:green"}


SITE_COLOURS = ("tab:red", "tab:blue")
