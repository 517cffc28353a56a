"""Helpers for the end-to-end browser test (tests/test_browser.py): Chromium, JupyterLab, a
fixture notebook with the latent-explorer widget structure."""
