"""The headless-Chromium check of the built book (ctxlib.book.browser) finds each kind of failure.

Runs on a tiny synthetic site; skipped where no Chromium is installed (.ci/run installs Debian's).
"""

import base64

import pytest

from ctxlib.book.browser import check_site, find_chromium, main

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium (apt-get install chromium)")

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
def _png(width: int, height: int) -> bytes:
    """A grey PNG of the given size in pixels."""
    import io

    import matplotlib.image

    buffer = io.BytesIO()
    matplotlib.image.imsave(buffer, [[0.5] * width] * height, cmap="gray", format="png")
    return buffer.getvalue()


PAGES = {
    "index.html": '<h1 id="top">Book</h1><img src="_images/fine.png"><a href="ok.html#here">ok</a><a href="#top">top</a>'
                  '<a href="https://example.org/">external, not followed</a>'
                  '<script src="https://example.invalid/offline.js"></script>',  # offline: a note, not a failure
    "ok.html": '<p id="here">fine</p><a href="index.html">home</a>',
    "missing_image.html": '<img src="_images/absent.png">',
    "broken_file.html": '<a href="nowhere.html">gone</a>',
    "broken_anchor.html": '<a href="ok.html#not-there">no such section</a>',
    "js_error.html": "<script>window.undefinedFunction();</script><p>text</p>",
    "console_error.html": '<script>console.error("theme failed")</script>',
    "error_cell.html": '<div class="cell_output docutils container"><div class="output traceback highlight-ipythontb">'
                       "<pre>Traceback (most recent call last)\nValueError: boom</pre></div></div>",
    "raw_table.html": '<div class="cell_output"><table><tr><th>a</th><td>NaN</td><td>0.1234567</td><td>98.8 %</td>'
                      "</tr></table></div>",
    "shrunk_figure.html": '<div class="cell_output"><img src="_images/wide.png" style="width: 300px"></div>',
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    (site / "_images").mkdir()
    (site / "_images" / "fine.png").write_bytes(PNG)
    (site / "_images" / "wide.png").write_bytes(_png(800, 10))
    for name, body in PAGES.items():
        (site / name).write_text(f"<!doctype html><html><head><title>{name}</title></head><body>{body}</body></html>")
    shots = site.parent / f"{site.name}-shots"
    return {r.page: r for r in check_site(site, shots)}, site, shots


def test_clean_pages_pass_and_get_screenshots(results):
    found, _, shots = results
    assert set(found) == set(PAGES)
    for name in ("index.html", "ok.html"):
        assert found[name].problems == [], found[name].problems
        assert (shots / name.replace(".html", ".png")).read_bytes().startswith(b"\x89PNG")
    assert found["index.html"].images[0]["natural"] == 1
    assert (shots / "report.json").exists()


@pytest.mark.parametrize("page, expected", [
    ("missing_image.html", "missing image: _images/absent.png"),
    ("broken_file.html", "nowhere.html (no such file)"),
    ("broken_anchor.html", "no element with id 'not-there'"),
    ("js_error.html", "JavaScript error: TypeError: window.undefinedFunction is not a function"),
    ("console_error.html", "console.error: theme failed"),
    ("error_cell.html", "error output cell: ValueError: boom"),
    ("raw_table.html", "2 raw table cell(s) (NaN, cut or over-long numbers): ['0.1234567', 'NaN']"),
    ("shrunk_figure.html", "figure shown at 300 px, made for 676 px"),
])
def test_each_failure_is_reported(results, page, expected):
    problems = results[0][page].problems
    assert any(expected in p for p in problems), problems


def test_command_line_fails_on_a_broken_site(results, capsys):
    _, site, shots = results
    assert main([str(site), "--screenshots", str(shots)]) == 1
    out = capsys.readouterr().out
    assert "FAIL missing_image.html" in out and "ok   ok.html" in out and "2 passed, 8 failed" in out
