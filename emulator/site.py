"""The portal: Django's default admin site, named, with the history dashboard.

The admin stays Django's default site, where every app registers its models;
``portal_install`` adds the history dashboard by wrapping that site's
``get_urls`` hook, which needs neither an AdminSite subclass nor a setting to
swap it in. The base template (config/templates/admin/base_site.html) adds the
one stylesheet, portal/portal.css, to every admin page.
"""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.urls import path

from emulator.dashboard import dashboard

SITE_HEADER = "WebJobs & Scheduler emulator"


def portal_install(site: AdminSite) -> None:
    """Name the site and add the dashboard (``admin:dashboard``) to its URLs."""
    site.site_header = SITE_HEADER
    site.site_title = "WebJobs emulator"
    site.index_title = "Portal"
    site.index_template = "portal/index.html"
    default_urls = site.get_urls

    def get_urls():
        return [
            path(
                "dashboard/",
                site.admin_view(dashboard),
                {"site": site},
                name="dashboard",
            ),
            *default_urls(),
        ]

    site.get_urls = get_urls
