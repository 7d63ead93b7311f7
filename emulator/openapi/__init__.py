"""The OpenAPI 3 description of every API route, served at /api/openapi.json.

drf-spectacular finds the routes (every alias Kudu keeps, ARM's regex paths,
their path parameters and methods); the views are APIViews without serializers,
so what each operation takes and answers is written by hand in `components.py`
(the JSON shapes, with the real services' field names) and `operations.py` (one
entry per view class and method), and merged in by `hooks.py`.
"""
