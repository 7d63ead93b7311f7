"""Cookies a browser keeps for HTTPS only, when the portal is served over HTTPS."""

from __future__ import annotations

from django.conf import settings


def secure_cookies(get_response):
    """Mark the session and CSRF cookies Secure on a request that came over
    HTTPS (directly, or through a proxy trusted by SECURE_PROXY_SSL_HEADER):
    the same instance may serve http on loopback and https behind a proxy, so
    the global SESSION_COOKIE_SECURE would be wrong for one of them."""

    def middleware(request):
        response = get_response(request)
        if request.is_secure():
            for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
                if name in response.cookies:
                    response.cookies[name]["secure"] = True
        return response

    return middleware
