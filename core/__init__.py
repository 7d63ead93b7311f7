"""The pure cores: plain functions over plain values, no Django, no database.

Recurrence (Azure Scheduler), NCRONTAB (Kudu's settings.job schedules), action
definitions, WebJob packages and runtimes, continuous-job rules, Kudu's text
formats and the dashboard's chart. They import nothing of the project but each
other (checked by import-linter, pyproject.toml); the apps above call them.
"""
