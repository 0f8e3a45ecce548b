"""``/widget.js``: the embeddable widget (SPEC section 10), served for other sites' pages.

The script and its stylesheet are plain files in ``static/widget/`` (no build step). Their
version is a hash of both files' bytes, so it changes exactly when either does:

- ``GET /widget.js``, the URL site owners paste, is cached briefly and revalidated by ETag,
  so a new version reaches every site within ``SHORT_MAX_AGE``;
- ``GET /widget/<version>.js`` and ``GET /widget/<version>.css`` are immutable, cached for a
  year (another version's URL gets today's files, cached briefly: never a 404 for a page
  that still names an old one).

The served script carries its version (``VERSION_MARK`` is replaced), so it asks for the
stylesheet of its own version, and its own words in every available language (``TEXT_MARK``
is replaced: ``web/widget_text.py``); the version covers those words too, so a recompiled
catalog is a new version. Another site's page uses these cross-origin: the stylesheet
is fetched (our origin is in the host's ``connect-src``) and needs
``Access-Control-Allow-Origin``; both say ``Cross-Origin-Resource-Policy: cross-origin`` so a
host page with ``Cross-Origin-Embedder-Policy: require-corp`` can load them too. Nothing
here is personal, and no cookie is read or set (the views are outside the unit of work,
which would read the session and so answer ``Vary: Cookie``, keeping the files out of shared
caches).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue

from ..i18n import TRANSLATIONS, available_languages
from ..unit_of_work import without_unit_of_work
from .widget_text import widget_texts_json

bp = Blueprint("widget", __name__)

SCRIPT, STYLES = "widget.js", "widget.css"
VERSION_MARK = "__LATEPOINT_WIDGET_VERSION__"
# In widget.js an empty object with this comment before it: the raw file still parses.
TEXT_MARK = "/*__LATEPOINT_WIDGET_TEXT__*/ {}"
SHORT_MAX_AGE = 3600  # seconds: how soon a new version reaches the sites that paste /widget.js
SHORT_CACHE = f"public, max-age={SHORT_MAX_AGE}"
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
MEDIA_TYPES = {SCRIPT: "text/javascript", STYLES: "text/css"}


@dataclass(frozen=True)
class WidgetAssets:
    version: str
    script: bytes  # with its version written in
    styles: bytes


def _folder() -> str:
    assert current_app.static_folder is not None
    return os.path.join(current_app.static_folder, "widget")


@lru_cache(maxsize=4)
def _read(folder: str, stamps: tuple[int, int], texts: str) -> WidgetAssets:
    """The files as they are at these modification times (a new stamp: read again), with
    these words written in."""
    with open(os.path.join(folder, SCRIPT), "rb") as f:
        script = f.read()
    with open(os.path.join(folder, STYLES), "rb") as f:
        styles = f.read()
    if TEXT_MARK.encode() not in script:
        raise RuntimeError(f"{SCRIPT} has lost its {TEXT_MARK!r}")
    script = script.replace(TEXT_MARK.encode(), texts.encode())
    version = hashlib.sha256(script + b"\0" + styles).hexdigest()[:12]
    return WidgetAssets(version, script.replace(VERSION_MARK.encode(), version.encode()), styles)


def widget_assets() -> WidgetAssets:
    folder = _folder()
    stamps = (
        os.stat(os.path.join(folder, SCRIPT)).st_mtime_ns,
        os.stat(os.path.join(folder, STYLES)).st_mtime_ns,
    )
    directory = current_app.config.get("TRANSLATIONS_DIRECTORY") or TRANSLATIONS
    texts = widget_texts_json(Path(directory), available_languages())
    return _read(folder, stamps, texts)


def _serve(name: str, *, immutable: bool) -> Response:
    assets = widget_assets()
    body = assets.script if name == SCRIPT else assets.styles
    response = current_app.response_class(body, mimetype=MEDIA_TYPES[name])
    response.headers["Cache-Control"] = IMMUTABLE_CACHE if immutable else SHORT_CACHE
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.set_etag(assets.version)
    response.make_conditional(request)  # a 304 for a matching If-None-Match
    return response


@bp.get("/widget.js")
@without_unit_of_work
def script() -> ResponseReturnValue:
    return _serve(SCRIPT, immutable=False)


@bp.get("/widget/<version>.js")
@without_unit_of_work
def versioned_script(version: str) -> ResponseReturnValue:
    return _serve(SCRIPT, immutable=version == widget_assets().version)


@bp.get("/widget/<version>.css")
@without_unit_of_work
def versioned_styles(version: str) -> ResponseReturnValue:
    return _serve(STYLES, immutable=version == widget_assets().version)
