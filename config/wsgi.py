import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from config.heap import freeze_startup_heap

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
# The URLconf and the views it imports are loaded on the first request
# otherwise; load them now and keep them with the rest (config/heap.py).
get_resolver().url_patterns  # noqa: B018
freeze_startup_heap()
