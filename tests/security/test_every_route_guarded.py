"""Every API route says what each of its methods needs (config/permissions.py),
so a route added without a thought for permissions is refused, not open."""

from __future__ import annotations

import pytest
from django.urls import get_resolver
from django.urls.resolvers import URLPattern, URLResolver
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from config.permissions import required_permissions

METHODS = ("get", "put", "post", "patch", "delete")


def _views(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _views(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            view = getattr(entry.callback, "view_class", None)
            if view is not None and issubclass(view, APIView):
                yield prefix + str(entry.pattern), entry.callback


ROUTES = list(_views(get_resolver().url_patterns))


def test_it_finds_the_api_routes():
    assert len(ROUTES) > 40  # Kudu's, ARM's and the emulator's


@pytest.mark.parametrize(("route", "callback"), ROUTES, ids=[r for r, _ in ROUTES])
def test_it_declares_what_each_method_needs(route, callback, db):
    view_class = callback.view_class
    for method in METHODS:
        if not hasattr(view_class, method):
            continue
        view = view_class(**callback.view_initkwargs)
        request = view.initialize_request(
            getattr(APIRequestFactory(), method)("/x"), **_kwargs()
        )
        view.request, view.kwargs = request, _kwargs()
        needed = required_permissions(view, request)
        assert needed is not None, f"{route} {method.upper()} declares nothing"


def _kwargs() -> dict[str, str]:
    """Path parameters every route might read to decide (add or change)."""
    names = ("name", "kind", "run_id", "filename", "sub", "rg", "jc", "job")
    return dict.fromkeys(names, "x")
