"""Redirects of an Http action that never hand its credentials to someone else.

urllib follows a redirect with the same headers, Authorization included, to
any host. Here a redirect to another origin (scheme, host, port) drops the
Authorization header and every secret header (core.definitions.SECRET_HEADER),
and a redirect from https to http is refused: the action fails with the reason
in its history, as browsers and `requests` protect credentials.
"""

from __future__ import annotations

import urllib.request
from urllib.parse import urlsplit

from core.definitions import SECRET_HEADER

ERR_DOWNGRADE = (
    "Refused to follow a redirect from {old} to {new}: it leaves https for http, "
    "which would send the request and its credentials unencrypted."
)


class RedirectRefused(OSError):
    pass


def _origin(url) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, (url.hostname or "").lower(), url.port or default


class CredentialSafeRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is None:
            return None
        old, target = urlsplit(req.full_url), urlsplit(new.full_url)
        if old.scheme == "https" and target.scheme == "http":
            raise RedirectRefused(
                ERR_DOWNGRADE.format(old=req.full_url, new=new.full_url)
            )
        if _origin(old) != _origin(target):
            for name in list(new.headers):
                if SECRET_HEADER.search(name):
                    del new.headers[name]
        return new
