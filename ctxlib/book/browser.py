"""Open every page of the built book in headless Chromium: ``python -m ctxlib.book.browser _build/html``.

``make check-book`` runs it. Each HTML page under the site folder (``_static`` and
``_sources`` aside) is loaded from disk in Debian's ``chromium``, driven over the Chrome
DevTools protocol on a pipe (``--remote-debugging-pipe``: no extra package, no network
port). A page fails on

* a missing image: an ``<img>`` whose file is absent or that the browser could not decode;
* a broken internal link: an ``<a href>`` into the site whose file is absent, or whose
  ``#fragment`` names no element of the target page;
* a JavaScript error: an uncaught exception (``Runtime.exceptionThrown``), a
  ``console.error`` call, or an error entry of the browser's log (``Log.entryAdded``,
  which includes site files that failed to load; an external ``http(s)`` resource that
  does not load, as on an offline machine, is only noted);
* an error output cell: a notebook cell whose output is a traceback;
* a figure shown smaller than it was made for: an output image rendered narrower than its own
  width or the page's column (:data:`ctxlib.book.figures.style.PAGE_WIDTH_PX`), whichever is
  less, which would shrink its text below the 9 pt that ``finish`` guarantees at that width;
* a raw table cell in an output table: ``NaN``, ``None``, a cell cut to ``...``, or a number
  with more than four decimals (:mod:`ctxlib.book.tables` formats them).

One full-page PNG per page is written under ``--screenshots`` (same relative path,
``.png``), and a ``report.json`` beside them lists every page's problems and every
image's natural and rendered width (the figures' scale at page width).
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ctxlib.book.figures.style import MIN_RENDERED_PT, PAGE_WIDTH_PX

#: A table cell that was not formatted: missing values, pandas' truncation, a float with five or more decimals.
RAW_CELL = re.compile(r"^(nan|NaN|None|\.\.\.|…)$|\d\.\d{5,}")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
VIEWPORT = (1280, 900)
MAX_SCREENSHOT_HEIGHT = 16_000  # px; Chromium refuses much taller captures
SKIPPED_FOLDERS = ("_static", "_sources", "_images", "_sphinx_design_static")

PAGE_SCRIPT = """(() => {
  const images = Array.from(document.images).map(i => ({src: i.currentSrc || i.src, complete: i.complete,
    natural: i.naturalWidth, rendered: Math.round(i.getBoundingClientRect().width)}));
  const links = Array.from(document.querySelectorAll('a[href]')).map(a => a.href);
  const errors = Array.from(document.querySelectorAll('.output.traceback, .output.error'))
    .map(e => e.textContent.trim().split('\\n').slice(-1)[0].slice(0, 200));
  const figures = Array.from(document.querySelectorAll('.cell_output img')).map(i => ({src: i.currentSrc || i.src,
    natural: i.naturalWidth, rendered: Math.round(i.getBoundingClientRect().width)}));
  const cells = Array.from(document.querySelectorAll('.cell_output table td, .cell_output table th'))
    .map(c => c.textContent.trim());
  return {images, links, errors, figures, cells};
})()"""


def find_chromium() -> str | None:
    """Path of a Chromium-like browser, or None (``CHROMIUM`` overrides)."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


class DevTools:
    """A headless Chromium and its DevTools protocol over ``--remote-debugging-pipe`` (fds 3 and 4)."""

    def __init__(self, executable: str, timeout: float = 30.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="ctxlib-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        args = [executable, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--mute-audio",
                "--allow-file-access-from-files", f"--user-data-dir={self.profile}", "about:blank"]

        # The protocol's fixed descriptors are 3 (commands in) and 4 (replies out). bash puts the pipe ends there
        # (dash takes single-digit descriptors only), from copies numbered 10 and up so that no redirection
        # overwrites another.
        to_browser_r, from_browser_w = (self._high(fd) for fd in (to_browser_r, from_browser_w))
        redirect = f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
        self.process = subprocess.Popen([shutil.which("bash") or "/bin/bash", "-c", redirect, "bash", *args],
                                        pass_fds=(to_browser_r, from_browser_w),
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._replies: dict[int, queue.Queue] = {}
        self.events: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    @staticmethod
    def _high(fd: int) -> int:
        high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
        os.close(fd)
        return high

    def _read(self):
        buffer = b""
        with os.fdopen(self._from_browser, "rb", buffering=0) as stream:
            while chunk := stream.read(1 << 16):
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        with self._lock:
                            box = self._replies.get(message["id"])
                        if box is not None:
                            box.put(message)
                    else:
                        self.events.put(message)

    def send(self, method: str, params: dict | None = None, *, session: str | None = None) -> dict:
        """Send one command and wait for its result; raise on a protocol error."""
        with self._lock:
            self._next_id += 1
            ident = self._next_id
            box = self._replies[ident] = queue.Queue()
        message = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        try:
            reply = box.get(timeout=self.timeout)
        except queue.Empty:
            raise TimeoutError(f"Chromium did not answer {method} within {self.timeout:.0f} s") from None
        finally:
            with self._lock:
                self._replies.pop(ident, None)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def close(self):
        try:
            self.send("Browser.close")
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        try:
            os.close(self._to_browser)
        except OSError:
            pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@dataclass
class PageResult:
    """What one page showed: its problems, notes (external resources that did not load), its images (src, natural and rendered width) and its screenshot."""

    page: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    screenshot: str | None = None


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)


def _ids(path: Path, cache: dict[Path, set[str]]) -> set[str]:
    if path not in cache:
        parser = _Ids()
        parser.feed(path.read_text(errors="replace"))
        cache[path] = parser.ids
    return cache[path]


def site_pages(site: Path) -> list[Path]:
    """Every HTML page of the site, in path order (asset folders aside)."""
    return sorted(p for p in site.rglob("*.html") if not set(p.relative_to(site).parts[:-1]) & set(SKIPPED_FOLDERS))


def _local_path(url: str, site: Path) -> tuple[Path | None, str]:
    """The file a ``file://`` URL inside ``site`` points at (None for other URLs), and its fragment."""
    parts = urlsplit(url)
    if parts.scheme != "file":
        return None, ""
    path = Path(unquote(parts.path))
    try:
        path.resolve().relative_to(site.resolve())
    except ValueError:
        return None, ""
    return path, unquote(parts.fragment)


def _describe_exception(details: dict) -> str:
    exception = details.get("exception", {})
    text = exception.get("description") or details.get("text", "exception")
    where = details.get("url", "")
    return f"JavaScript error: {text.splitlines()[0][:300]}" + (f" ({where}:{details.get('lineNumber', 0) + 1})" if where else "")


def check_page(tools: DevTools, session: str, page: Path, site: Path, screenshots: Path | None,
               ids_cache: dict[Path, set[str]], *, settle: float = 0.5) -> PageResult:
    """Load one page and collect its problems; save its screenshot under ``screenshots``."""
    relative = page.relative_to(site).as_posix()
    result = PageResult(relative)
    while not tools.events.empty():  # events of the previous page
        tools.events.get_nowait()
    tools.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
    deadline, loaded, last_event = time.monotonic() + tools.timeout, False, time.monotonic()
    events = []
    while time.monotonic() < deadline:
        try:
            event = tools.events.get(timeout=0.1)
        except queue.Empty:
            if loaded and time.monotonic() - last_event > settle:
                break
            continue
        if event.get("sessionId") != session:
            continue
        events.append(event)
        last_event = time.monotonic()
        loaded |= event["method"] == "Page.loadEventFired"
    if not loaded:
        result.problems.append(f"page did not finish loading within {tools.timeout:.0f} s")
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.exceptionThrown":
            result.problems.append(_describe_exception(params["exceptionDetails"]))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            result.problems.append(f"JavaScript console.error: {text[:300]}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            if entry.get("source") == "network" and urlsplit(entry.get("url", "")).scheme in ("http", "https"):
                result.notes.append(f"external resource not loaded (offline?): {entry['url']}")
                continue
            result.problems.append(f"browser log error ({entry.get('source')}): {entry.get('text', '')[:300]}"
                                   + (f" {entry['url']}" if entry.get("url") else ""))
    found = tools.send("Runtime.evaluate", {"expression": PAGE_SCRIPT, "returnByValue": True}, session=session)
    found = found.get("result", {}).get("value") or {"images": [], "links": [], "errors": []}
    for image in found["images"]:
        path, _ = _local_path(image["src"], site)
        result.images.append(image)
        if path is not None and not path.is_file():
            result.problems.append(f"missing image: {path.relative_to(site.resolve()) if path.is_absolute() else path}")
        elif image["complete"] and not image["natural"]:
            result.problems.append(f"image not shown (could not be loaded or decoded): {image['src']}")
    for link in sorted(set(found["links"])):
        path, fragment = _local_path(link, site)
        if path is None:
            continue
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file():
            result.problems.append(f"broken link: {link} (no such file)")
        elif fragment and path.suffix == ".html" and fragment not in _ids(path, ids_cache):
            result.problems.append(f"broken link: {link} (no element with id {fragment!r})")
    result.problems += [f"error output cell: {text}" for text in found["errors"]]
    result.problems += [f"figure shown at {f['rendered']} px, made for {min(f['natural'], PAGE_WIDTH_PX)} px (its text "
                        f"renders under {MIN_RENDERED_PT:g} pt): {f['src']}"
                        for f in found.get("figures", []) if f["rendered"] and f["natural"]
                        and f["rendered"] < min(f["natural"], PAGE_WIDTH_PX) - 2]
    raw = sorted({cell for cell in found.get("cells", []) if RAW_CELL.search(cell)})
    if raw:
        result.problems.append(f"{len(raw)} raw table cell(s) (NaN, cut or over-long numbers): {raw[:5]}")
    if screenshots is not None:  # full page, as puppeteer does it: a window as tall as the page, then back
        metrics = tools.send("Page.getLayoutMetrics", {}, session=session)
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        height = int(min(max(VIEWPORT[1], size["height"]), MAX_SCREENSHOT_HEIGHT))
        tools.send("Emulation.setDeviceMetricsOverride",
                   {"width": VIEWPORT[0], "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
        shot = tools.send("Page.captureScreenshot", {"format": "png"}, session=session)
        tools.send("Emulation.setDeviceMetricsOverride",
                   {"width": VIEWPORT[0], "height": VIEWPORT[1], "deviceScaleFactor": 1, "mobile": False},
                   session=session)
        target = screenshots / Path(relative).with_suffix(".png")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode(shot["data"]))
        result.screenshot = str(target)
    return result


def check_site(site: Path, screenshots: Path | None = None, *, executable: str | None = None,
               pages: list[Path] | None = None, timeout: float = 30.0) -> list[PageResult]:
    """Check every page of ``site`` (or ``pages``) in one headless Chromium; return one result per page."""
    site = Path(site)
    executable = executable or find_chromium()
    if executable is None:
        raise FileNotFoundError("no Chromium found (apt-get install chromium, or set CHROMIUM=/path/to/chrome)")
    if screenshots is not None:
        screenshots = Path(screenshots)
        shutil.rmtree(screenshots, ignore_errors=True)
        screenshots.mkdir(parents=True)
    pages = pages if pages is not None else site_pages(site)
    results, ids_cache = [], {}
    with DevTools(executable, timeout=timeout) as tools:
        target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            tools.send(f"{domain}.enable", {}, session=session)
        tools.send("Emulation.setDeviceMetricsOverride",
                   {"width": VIEWPORT[0], "height": VIEWPORT[1], "deviceScaleFactor": 1, "mobile": False},
                   session=session)
        for page in pages:
            results.append(check_page(tools, session, Path(page), site, screenshots, ids_cache))
    if screenshots is not None:
        (screenshots / "report.json").write_text(json.dumps([r.__dict__ for r in results], indent=1))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("site", type=Path, nargs="?", default=Path("_build/html"), help="the built book (default: %(default)s)")
    parser.add_argument("--screenshots", type=Path, default=Path("_build/screenshots"),
                        help="where one PNG per page goes (default: %(default)s)")
    parser.add_argument("--chromium", help="the browser executable (default: chromium on PATH, or $CHROMIUM)")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        parser.error(f"{args.site}/index.html is missing: build the book first (make book)")
    results = check_site(args.site, args.screenshots, executable=args.chromium)
    failed = [r for r in results if r.problems]
    for result in results:
        print(f"{'FAIL' if result.problems else 'ok  '} {result.page}")
        for problem in result.problems:
            print(f"       {problem}")
        for note in result.notes:
            print(f"       note: {note}")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed; screenshots in {args.screenshots}/")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
