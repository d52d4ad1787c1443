"""The configs shipped with logscrub: policies, routes, golden cases, example settings.

They live once, in the repository's top-level ``configs/`` (YAML only), and are installed as
``pipeline/configs/`` (the package ``pipeline.configs``, mapped by ``package-dir`` in
pyproject.toml). An installed logscrub (the wheel, the container image) reads them through
:mod:`importlib.resources`, whatever the working directory. A user's own configs are plain
paths.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

_SOURCE_CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def shipped_configs() -> Traversable:
    """The shipped configs folder: ``pipeline/configs`` installed, else the checkout's ``configs/``.

    The second case is the editable install of ``make setup`` (and a bare checkout):
    setuptools' editable finder maps packages with an ``__init__.py`` only, and
    ``configs/`` holds YAML only, so there the folder is read where it lives.
    """
    installed = files("pipeline").joinpath("configs")
    return installed if installed.is_dir() else _SOURCE_CONFIGS


def shipped(*parts: str) -> Traversable:
    """A shipped config file or folder, e.g. ``shipped("policies", "default.yaml")``."""
    return shipped_configs().joinpath(*parts)


def as_config(path: str | Path | Traversable) -> Traversable:
    """A user's path (``str``) as a :class:`Path`; a shipped resource or Path unchanged."""
    return Path(path) if isinstance(path, str) else path


def yaml_files(root: Traversable) -> list[tuple[Traversable, Traversable]]:
    """Every ``*.yaml``/``*.yml`` file under ``root`` with its folder, sorted by name.

    Works on a shipped folder as on a user's :class:`Path` (a Traversable has no
    ``parent``, hence the folder alongside each file).
    """
    out: list[tuple[Traversable, Traversable]] = []
    for child in sorted(root.iterdir(), key=lambda t: t.name):
        if child.is_dir():
            out += yaml_files(child)
        elif child.name.endswith((".yaml", ".yml")):
            out.append((child, root))
    return out
