"""The website (`make site`): built offline from the committed notebooks, and checked in a browser.

The site is built once per session (tools/site.py, nothing executed) into a temporary folder and
served on 127.0.0.1. Headless Chromium (the browser test's, see conftest.py) opens every page,
with every request to any other host blocked and recorded, and checks that

1. nothing was fetched from the network (the theme and MathJax are bundled) and no page logs a
   JavaScript error;
2. every image loaded (a decoded picture, not a broken icon) and has alt text;
3. every equation was typeset by MathJax without an error, and no `$...$` is left as raw text;
4. every link inside the site opens a page that exists, at an anchor that exists;
5. each notebook's page shows its measured run time and its launch links, the same links that
   tools/launch.py stamps into the notebook;
6. the search page finds a notebook by a word of its content.

Screenshots of the front page and one notebook page (its top, and its first figure) are saved
in build/test-artifacts/site/.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import nbformat
import pytest

from tools import launch, site

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ARTIFACTS = ROOT / "build" / "test-artifacts" / "site"
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 30_000

# After MathJax finished: every equation Sphinx wrote (class "math") holds a typeset formula.
_MATH_STATE = """async () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        await MathJax.startup.promise;
    }
    const maths = Array.from(document.querySelectorAll('.math'));
    return {
        equations: maths.length,
        untypeset: maths.filter(m => !m.querySelector('mjx-container'))
                        .map(m => m.textContent.slice(0, 80)),
        errors: Array.from(document.querySelectorAll('mjx-merror'))
                     .map(m => m.getAttribute('data-mjx-error') || m.textContent.slice(0, 80)),
    };
}"""

# Text outside code that still looks like unrendered inline math: $...$ with no space after $.
_RAW_DOLLARS = """() => {
    const walker = document.createTreeWalker(document.querySelector('main') || document.body,
                                             NodeFilter.SHOW_TEXT);
    const found = [];
    while (walker.nextNode()) {
        const node = walker.currentNode;
        if (node.parentElement.closest('pre, code, script, style, .math')) continue;
        if (/\\$[^$\\s][^$]*\\$/.test(node.textContent)) found.push(node.textContent.slice(0, 80));
    }
    return found;
}"""

_IMAGES = """() => Array.from(document.querySelectorAll('main img')).map(img => ({
    src: img.getAttribute('src'),
    alt: img.getAttribute('alt') || '',
    loaded: img.complete && img.naturalWidth > 0,
}))"""

_LINKS = "() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"


def test_every_figure_has_alt_text():
    """Each figure of every notebook has its alt text in the cell's metadata (the site's source)."""
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert not site.missing_alt_text(nb), (
            f"{path.name}: figure cells without alt text (one per figure, "
            f"metadata.vae_tutorial.alt): {site.missing_alt_text(nb)}"
        )


def test_a_figure_without_alt_text_stops_the_build():
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and site.figure_count(c))
    del cell.metadata["vae_tutorial"]["alt"]
    with pytest.raises(ValueError, match="without alt text"):
        site.prepare(nb, "https://example.org/repo")


def test_a_cell_with_two_figures_becomes_two_with_one_alt_text_each():
    png = {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}
    cell = nbformat.v4.new_code_cell("plot()", id="abc")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="before\n"),
        nbformat.v4.new_output("display_data", data=png),
        nbformat.v4.new_output("display_data", data=png),
        nbformat.v4.new_output("stream", name="stdout", text="after\n"),
    ]
    cell.metadata["vae_tutorial"] = {"alt": ["first", "second"]}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"), cell])
    cells = site.prepare(nb, "https://example.org/repo").cells[1:]
    assert cells[0].source == "plot()" and cells[1].source.startswith("#")
    assert [c.metadata["mystnb"]["image"]["alt"] for c in cells] == ["first", "second"]
    assert "remove-input" in cells[1].metadata["tags"]
    assert [len(c.outputs) for c in cells] == [2, 2]  # the text after the last figure stays
    assert len({c.id for c in cells}) == 2


def test_run_time_reads_well():
    assert site.run_time(8.4) == "8 s"
    assert site.run_time(93) == "93 s"
    assert site.run_time(125) == "2 min 05 s"


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    pytest.importorskip("sphinx", reason="the website needs the site extra: pip install -e .[site]")
    pytest.importorskip(
        "myst_nb", reason="the website needs the site extra: pip install -e .[site]"
    )
    return site.build(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def server(built_site):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(built_site))
    handler.func.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.slow
def test_the_site_has_a_page_for_each_notebook(built_site):
    pages = {p.relative_to(built_site).as_posix() for p in built_site.rglob("*.html")}
    expected = {f"notebooks/{p.stem}.html" for p in NOTEBOOKS}
    assert expected <= pages, f"missing pages: {sorted(expected - pages)}"
    assert {"index.html", "notation.html", "search.html"} <= pages


def _ids(html: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', html))


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(600)
def test_every_page_renders_offline_with_images_equations_and_links(built_site, server, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=VIEWPORT)
    fetched_elsewhere: list[str] = []

    def only_this_site(route):
        if route.request.url.startswith(server):
            route.continue_()
        else:
            fetched_elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_site)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    js_errors: list[str] = []
    page.on("pageerror", lambda error: js_errors.append(f"{page.url}: {error}"))
    page.on(
        "console",
        lambda m: js_errors.append(f"{page.url}: {m.text}") if m.type == "error" else None,
    )

    problems: list[str] = []
    links: dict[str, set[str]] = {}  # page -> the internal links on it
    equations = 0
    pages = sorted(p.relative_to(built_site).as_posix() for p in built_site.rglob("*.html"))
    pages = [p for p in pages if not p.startswith(("_static/", "_sources/"))]
    try:
        for name in pages:
            response = page.goto(server + name, wait_until="networkidle")
            assert response is not None and response.ok, f"{name}: {response and response.status}"
            maths = page.evaluate(_MATH_STATE)
            equations += maths["equations"]
            problems += [f"{name}: equation not typeset: {m!r}" for m in maths["untypeset"]]
            problems += [f"{name}: MathJax error: {m!r}" for m in maths["errors"]]
            problems += [f"{name}: raw math in text: {t!r}" for t in page.evaluate(_RAW_DOLLARS)]
            for image in page.evaluate(_IMAGES):
                if not image["loaded"]:
                    problems.append(f"{name}: image did not load: {image['src']}")
                if not image["alt"].strip():
                    problems.append(f"{name}: image without alt text: {image['src']}")
            links[name] = {
                href for href in page.evaluate(_LINKS) if href.startswith(server) and href != server
            }
            if name.startswith("notebooks/"):
                stem = Path(name).stem
                shown = page.locator("main .cell_output img").count()
                nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
                figures = sum(site.figure_count(c) for c in nb.cells if c.cell_type == "code")
                if shown != figures:
                    problems.append(f"{name}: {shown} figures shown, the notebook has {figures}")
                text = page.inner_text("main")
                if "Run time:" not in text:
                    problems.append(f"{name}: no run time under the title")
                hrefs = set(page.evaluate(_LINKS))
                for url in (
                    launch.binder_url(f"notebooks/{stem}.ipynb"),
                    launch.colab_url(f"notebooks/{stem}.ipynb"),
                ):
                    if url not in hrefs:
                        problems.append(f"{name}: launch link missing: {url}")
            if name in ("index.html", "notebooks/04_elbo.html"):
                page.screenshot(path=str(ARTIFACTS / f"{Path(name).stem}.png"))
            if name == "notebooks/04_elbo.html":  # and where its first figure is
                page.locator("main .cell_output img").first.scroll_into_view_if_needed()
                page.screenshot(path=str(ARTIFACTS / "04_elbo_figure.png"))
    finally:
        context.close()

    # Every internal link: the page exists, and so does the anchor.
    for name, hrefs in links.items():
        for href in hrefs:
            url, fragment = urldefrag(href)
            target = unquote(urlparse(url).path).lstrip("/") or "index.html"
            if target.endswith("/"):
                target += "index.html"
            path = built_site / target
            if not path.is_file():
                problems.append(f"{name}: broken link {href}")
            elif fragment and path.suffix == ".html":
                if unquote(fragment) not in _ids(path.read_text(encoding="utf-8")):
                    problems.append(f"{name}: link to a missing anchor {href}")

    assert len(pages) >= len(NOTEBOOKS) + 3
    assert equations > 100, f"only {equations} equations on the whole site: is MathJax wired?"
    assert not fetched_elsewhere, f"the site fetched from the network: {fetched_elsewhere[:10]}"
    assert not js_errors, "JavaScript errors:\n" + "\n".join(js_errors[:20])
    assert not problems, "\n".join(problems[:40])


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(120)
def test_search_finds_a_notebook(server, browser):
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(server + "search.html?q=REINFORCE", wait_until="networkidle")
        results = page.locator("#search-results li a")
        results.first.wait_for(timeout=TIMEOUT_MS)
        hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    finally:
        page.close()
    assert any("02_reparameterization" in href for href in hrefs), hrefs
