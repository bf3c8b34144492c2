"""Sphinx extension of the book (``_config.yml``): every page lists each of its scripts once.

Sphinx 7.4 registers an inline script added with ``app.add_js_file(None, body=...)`` a
second time, under the file name ``''``, when it prepares writing; sphinx-thebe adds its
``const THEBE_JS_URL = ...`` that way, so every page declared the constant twice and
raised a JavaScript ``SyntaxError`` (``make check-book`` reports it). The duplicates are
dropped from each page's ``script_files``, keeping the first of each.
"""

from __future__ import annotations


def _key(script) -> tuple:
    attributes = getattr(script, "attributes", {}) or {}
    return (getattr(script, "filename", str(script)) or "", tuple(sorted((k, str(v)) for k, v in attributes.items())))


def unique_scripts(app, pagename, templatename, context, doctree):
    """``html-page-context`` handler: drop repeated entries of ``script_files``."""
    scripts = context.get("script_files")
    if scripts:
        seen, unique = set(), []
        for script in scripts:
            if (key := _key(script)) not in seen:
                seen.add(key)
                unique.append(script)
        context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", unique_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
