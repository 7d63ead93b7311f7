"""Django's PostgreSQL backend with a health check that needs no round trip, a
cursor that binds on the server for the run path's statements, and timestamps
read in C (base.py)."""
