"""The user guide (MkDocs site built by `make docs` into PORTAL_GUIDE_DIR) served at /guide/,
and which guide section each role starts from."""

import mimetypes
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpResponse

from . import roles

# Role -> the guide's section for it (paths inside the built site, see mkdocs.yml's nav).
SECTION_OF_ROLE = {
    roles.ML_TEAM: "guides/ml-teams/",
    roles.PLATFORM_ADMIN: "guides/platform/",
    roles.SRE: "guides/sre/",
    roles.FINANCE: "guides/finance/",
}


def guide_url_for(user) -> str:
    """Where the signed-in user's guide starts (the guide's home for anyone else)."""
    base = settings.PORTAL_GUIDE_URL
    if not getattr(user, "is_authenticated", False):
        return base
    return base + SECTION_OF_ROLE[roles.primary_role(user)]


def guide_page(request, path: str = ""):
    """A file of the built site; a directory URL answers its index.html (MkDocs' layout).
    Public like the login page: the guide tells people how to get access."""
    root = Path(settings.PORTAL_GUIDE_DIR).resolve()
    if not (root / "index.html").is_file():
        return HttpResponse(
            "The guide is not built here: run `make docs` (it builds docs/ into site/).",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    if path == "" or path.endswith("/"):
        path += "index.html"
    file = (root / path).resolve()
    if not file.is_relative_to(root) or not file.is_file():
        raise Http404(f"No page {path} in the guide.")
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type.endswith(("javascript", "json")):
        content_type += "; charset=utf-8"
    return HttpResponse(file.read_bytes(), content_type=content_type)
