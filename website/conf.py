"""Sphinx configuration of the series' website (`make site`; tools/site.py stages the sources).

The site is built from the committed notebooks and their outputs: nothing is executed. Everything
it needs at view time is bundled: the theme's files and MathJax (sphinx-mathjax-offline) are
copied into the build, so the site works from a folder or a server with no network.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository: tools, package

from tools import launch  # noqa: E402
from vae_tutorial import __version__  # noqa: E402

repository_url = launch.repository_url()

project = "Learn how a Variational Autoencoder works by building one"
author = "The vae_tutorial authors"
copyright = "2026, the vae_tutorial authors"  # noqa: A001 (Sphinx's name)
version = release = __version__

extensions = ["myst_nb", "sphinx-mathjax-offline"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# The notebooks are rendered from their committed outputs, never executed here.
nb_execution_mode = "off"
# No widget JavaScript from a CDN: tools/site.py replaces the one widget output with a note.
nb_ipywidgets_js = {}
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_title = "VAE tutorial"
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": repository_url,
    "repository_branch": launch.launch_ref(),
    "path_to_docs": "",
    "use_repository_button": True,
    "launch_buttons": {
        "binderhub_url": "https://mybinder.org",
        "colab_url": "https://colab.research.google.com",
        "notebook_interface": "jupyterlab",
    },
    "home_page_in_toc": True,
    "show_toc_level": 2,
}
# Light, dark or the reader's system setting (the theme's switch); stated, so the theme's script
# does not log an error on a first visit.
html_context = {"default_mode": "auto"}
html_static_path = ["_static"]
html_css_files = ["notation.css"]
# The notation page is one wide table: no "Contents" column beside it, so the table has the room.
html_theme_options["secondary_sidebar_items"] = {"**": ["page-toc"], "notation": []}
