"""End to end in a real browser: the latent-space explorer in JupyterLab.

`jupyter lab` from this environment serves a copy of the notebook on 127.0.0.1 with a token;
headless Chromium (Debian's package, installed with apt-get when missing and we are root),
driven by Playwright, opens it, runs all cells, and checks that

1. the explorer rendered as a widget: the box with the class "latent-explorer" is visible and
   holds slider handles and an image, and no output is the widget's text repr
   (`VBox(children=...)`) or "Error displaying widget" / "model not found";
2. moving a slider (focus its handle, press ArrowRight) changes the decoded image: both the
   <img>'s blob/data URL and its pixels;
3. no cell shows an error (see `_errors`).

A screenshot of the page is saved in build/test-artifacts/browser/ whether the test passes or
fails, and the server (with its kernel) is stopped whatever happens.

The notebook is the one that teaches the explorer; if it is missing the test fails (a renamed
notebook must be renamed here too).
"""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path

import pytest

from tools.assignments import quick_copy

from .browser import jupyter

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "07_latent_space.ipynb"
ARTIFACTS = ROOT / "build" / "test-artifacts" / "browser"

VIEWPORT = {"width": 1280, "height": 1000}
LOAD_TIMEOUT_MS = 60_000  # page loaded, kernel started and idle
EXECUTE_TIMEOUT_MS = 120_000  # all cells run
WIDGET_TIMEOUT_MS = 20_000  # the explorer rendered; the image updated after a move
ARROW_PRESSES = 5

EXPLORER = ".latent-explorer"
SLIDER = (
    f"{EXPLORER} .widget-slider [role=slider], {EXPLORER} input[type=range]"  # ipywidgets 8: noUi
)
IMAGE = f"{EXPLORER} img"
STDERR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
# What an output shows when the widget did not render.
NOT_RENDERED = re.compile(r"\b[VH]Box\(children=|Error displaying widget|model not found", re.I)
# An error in a stderr output: a traceback or an `ename: ...` line.
STDERR_ERROR = re.compile(r"Traceback \(most recent call last\)|^\w*(Error|Exception)\b", re.M)

_NOTEBOOK_WIDGET = """(path) => {
    const app = window.jupyterapp;
    if (!app) return null;
    for (const w of app.shell.widgets('main')) {
        if (w.context && w.context.path === path && w.content && w.content.model) return w;
    }
    return null;
}"""

_READY = f"""(path) => {{
    const w = ({_NOTEBOOK_WIDGET})(path);
    const session = w && w.sessionContext.session;
    const kernel = session && session.kernel;
    return !!(w && w.context.isReady && kernel
              && kernel.connectionStatus === 'connected' && kernel.status === 'idle');
}}"""

# Also records the kernel's error and stderr messages, which include those of widget callbacks
# (an exception in `update` shows in JupyterLab's log console, not in a cell).
_RUN_ALL = f"""async (path) => {{
    const w = ({_NOTEBOOK_WIDGET})(path);
    window.__kernelErrors = [];
    w.sessionContext.session.kernel.iopubMessage.connect((_, msg) => {{
        const c = msg.content;
        if (msg.header.msg_type === 'error') window.__kernelErrors.push(c.ename + ': ' + c.evalue);
        if (msg.header.msg_type === 'stream' && c.name === 'stderr')
            window.__kernelErrors.push('stderr: ' + c.text);
    }});
    window.jupyterapp.shell.activateById(w.id);
    await window.jupyterapp.commands.execute('notebook:run-all-cells');
}}"""

# Kernel idle, and every non-empty code cell executed (or some cell failed: run-all stops there).
_DONE = f"""(path) => {{
    const w = ({_NOTEBOOK_WIDGET})(path);
    const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
    if (!kernel || kernel.status !== 'idle') return false;
    let failed = false, pending = false;
    for (const cell of w.content.model.cells) {{
        if (cell.type !== 'code') continue;
        if (cell.outputs.toJSON().some(o => o.output_type === 'error')) failed = true;
        if (cell.sharedModel.getSource().trim() && cell.executionCount === null) pending = true;
    }}
    return failed || !pending;
}}"""

_MODEL_STATE = f"""(path) => {{
    const w = ({_NOTEBOOK_WIDGET})(path);
    const cells = [];
    let index = 0;
    for (const cell of w.content.model.cells) {{
        if (cell.type === 'code') cells.push({{
            index,
            source: cell.sharedModel.getSource().slice(0, 80),
            executionCount: cell.executionCount,
            errors: cell.outputs.toJSON().filter(o => o.output_type === 'error')
                                         .map(o => o.ename + ': ' + o.evalue),
        }});
        index += 1;
    }}
    return cells;
}}"""


def test_the_explorer_notebook_exists():
    assert NOTEBOOK.exists(), f"{NOTEBOOK.relative_to(ROOT)} is missing: update NOTEBOOK"


def _errors(page, path: str) -> list[str]:
    """Every error a cell shows: an `error` output in the notebook's model (ename: evalue), a
    stderr output with a traceback or an `...Error`/`...Exception` line, a widget that could not
    be displayed, and any dialog JupyterLab opened (a kernel that died, a failed save)."""
    found = [
        f"cell {cell['index']} ({cell['source']!r}): {error}"
        for cell in page.evaluate(_MODEL_STATE, path)
        for error in cell["errors"]
    ]
    stderr = page.locator(STDERR_OUTPUT)
    found += [
        f"stderr: {text[:500]}" for text in stderr.all_inner_texts() if STDERR_ERROR.search(text)
    ]
    outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
    found += [f"output: {text[:500]}" for text in outputs if NOT_RENDERED.search(text)]
    found += [f"dialog: {text[:500]}" for text in page.locator(".jp-Dialog").all_inner_texts()]
    kernel = page.evaluate("() => window.__kernelErrors || []")
    found += [f"kernel: {text[:500]}" for text in kernel if STDERR_ERROR.search(text)]
    return found


def _wait(page, path: str, expression: str, arg, timeout_ms: int, what: str) -> None:
    """page.wait_for_function, failing with `what` and the errors the page shows."""
    from playwright.sync_api import TimeoutError

    try:
        page.wait_for_function(expression, arg=arg, timeout=timeout_ms)
        return
    except TimeoutError:
        pass
    errors = "\n".join(_errors(page, path)) or "none"
    pytest.fail(f"{what} within {timeout_ms / 1000:.0f} s; errors shown: {errors}")


def _screenshot(page, name: str) -> None:
    """The whole page into ARTIFACTS, scrolled to the first error output if there is one, else
    to the explorer."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    for target in (STDERR_OUTPUT, EXPLORER):
        with contextlib.suppress(Exception):
            if page.locator(target).count():
                page.locator(target).first.scroll_into_view_if_needed(timeout=2_000)
                break
    page.screenshot(path=path, full_page=True, timeout=10_000)
    print(f"screenshot: {path}")


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(300)
def test_latent_explorer_in_jupyterlab(browser, tmp_path):
    started = time.monotonic()
    root = tmp_path / "root"
    name = NOTEBOOK.stem
    quick_copy(NOTEBOOK, root / NOTEBOOK.name)  # quick = True, as in the quick tests
    path = f"{name}.ipynb"

    with jupyter.running_lab(root, tmp_path / "jupyter") as lab:
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        try:
            page.goto(lab.page(path), timeout=LOAD_TIMEOUT_MS)
            _wait(page, path, _READY, path, LOAD_TIMEOUT_MS, "the notebook's kernel was not ready")
            page.evaluate(_RUN_ALL, path)
            _wait(page, path, _DONE, path, EXECUTE_TIMEOUT_MS, "the cells did not finish")

            # (3) no cell shows an error, and every code cell ran.
            assert _errors(page, path) == []
            cells = page.evaluate(_MODEL_STATE, path)
            assert [c for c in cells if c["source"].strip() and c["executionCount"] is None] == []

            # (1) the explorer is a rendered widget with sliders and an image.
            box = page.locator(EXPLORER)
            box.first.wait_for(state="visible", timeout=WIDGET_TIMEOUT_MS)
            assert box.count() == 1
            sliders = page.locator(SLIDER)
            sliders.first.wait_for(state="visible", timeout=WIDGET_TIMEOUT_MS)
            assert sliders.count() >= 1
            image = page.locator(IMAGE)
            assert image.count() == 1
            image.wait_for(state="visible", timeout=WIDGET_TIMEOUT_MS)
            _wait(
                page,
                path,
                "(selector) => { const img = document.querySelector(selector);"
                " return img.complete && img.naturalWidth > 0; }",
                IMAGE,
                WIDGET_TIMEOUT_MS,
                "the explorer's image did not load",
            )
            source = image.get_attribute("src")
            assert source and source.startswith(("blob:", "data:")), source
            image.scroll_into_view_if_needed()
            pixels = image.screenshot()

            # (2) moving the first slider changes the decoded image.
            slider = sliders.first
            before = slider.get_attribute("aria-valuenow") or slider.input_value()
            slider.focus()
            for _ in range(ARROW_PRESSES):
                slider.press("ArrowRight")
            _wait(
                page,
                path,
                "([selector, before]) => { const s = document.querySelector(selector);"
                " return (s.getAttribute('aria-valuenow') ?? s.value) !== before; }",
                [SLIDER, before],
                WIDGET_TIMEOUT_MS,
                f"the slider did not move from {before} on {ARROW_PRESSES} x ArrowRight",
            )
            _wait(
                page,
                path,
                "([selector, before]) => { const img = document.querySelector(selector);"
                " return img.src !== before && img.complete && img.naturalWidth > 0; }",
                [IMAGE, source],
                WIDGET_TIMEOUT_MS,
                "the image did not change when the slider moved",
            )
            _wait(page, path, _DONE, path, WIDGET_TIMEOUT_MS, "the kernel did not become idle")
            moved = image.screenshot()
            assert moved != pixels, "the image's pixels did not change when the slider moved"
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / f"{name}-image-before.png").write_bytes(pixels)
            (ARTIFACTS / f"{name}-image-after.png").write_bytes(moved)
            assert _errors(page, path) == []
        finally:
            with contextlib.suppress(Exception):
                _screenshot(page, name)
            context.close()

    assert jupyter.leftovers(lab) == []
    print(
        f"{name}: {time.monotonic() - started:.1f} s, server and {len(lab.children)} kernel(s) gone"
    )


@pytest.mark.slow
@pytest.mark.browser
def test_the_server_is_stopped_when_the_test_fails(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with jupyter.running_lab(tmp_path / "root", tmp_path / "jupyter") as lab:
            assert lab.api("status")
            raise RuntimeError("boom")
    assert jupyter.leftovers(lab) == []
