"""Statements of the per-run hot path, written out once instead of compiled by
the ORM on every call.

Compiling a queryset costs more CPU than the database spends on these
statements: a claim's or a finish's `filter().update()` was 0.3-0.4 ms each in
Python, a run's read with its job 0.7 ms (cProfile of a launcher during
bench/run_trigger.py's burst, issue 18), and every on-demand run makes several.
The SQL here is what the ORM would send (the same tables, columns and
conditions, portable between SQLite and PostgreSQL); values are adapted by
their model fields exactly as the ORM adapts them, and the statements go
through Django's cursor (its wrappers, query logging, transactions).

Use it only where a profile shows the compile; everywhere else the ORM reads
better.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    return connection.ops.quote_name(field.column)


def update(
    model: type[models.Model],
    values: dict[str, object],
    where: str,
    params: Sequence[object] = (),
    *,
    add: dict[str, int] | None = None,
) -> int:
    """`UPDATE <model's table> SET <values> WHERE <where>`; the rows updated.
    `values`: field name -> value, adapted as a save adapts them; `add`: field
    name -> a number added to it (F() + n); `where`: SQL over `{field}`
    placeholders (replaced by the quoted columns) with `%s` for `params`, which
    are passed as they are (ints, strings)."""
    table = connection.ops.quote_name(model._meta.db_table)
    sets, args = [], []
    for name, value in values.items():
        field = model._meta.get_field(name)
        sets.append(f"{connection.ops.quote_name(field.column)} = %s")
        args.append(field.get_db_prep_save(value, connection))
    for name, number in (add or {}).items():
        column = _column(model, name)
        sets.append(f"{column} = {column} + %s")
        args.append(number)
    condition = where.format_map(_Columns(model))
    sql = f"UPDATE {table} SET {', '.join(sets)} WHERE {condition}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*args, *params])
        return cursor.rowcount


def select(
    model: type[models.Model], where: str, params: Sequence[object] = ()
) -> list[models.Model]:
    """`model`'s rows matching `where` (as in `update`): Model.objects.raw, so
    values are converted as the ORM converts them."""
    table = connection.ops.quote_name(model._meta.db_table)
    where = where.format_map(_Columns(model))
    return list(
        model._default_manager.raw(f"SELECT * FROM {table} WHERE {where}", params)
    )


def select_rows(
    model: type[models.Model],
    fields: Sequence[str],
    where: str,
    params: Sequence[object] = (),
) -> list[tuple]:
    """`SELECT <fields> FROM <model's table> WHERE <where>` (as in `update`):
    the rows as tuples of plain values (ints and strings: no conversion)."""
    columns = ", ".join(_column(model, name) for name in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"SELECT {columns} FROM {table} WHERE {where.format_map(_Columns(model))}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(model: type[models.Model], sql: str, params: Sequence[object] = ()) -> int:
    """A statement over `model`'s table: `{_table}` is the quoted table,
    `{field}` a quoted column (as in `update`); the rows it changed."""
    with connection.cursor() as cursor:
        cursor.execute(sql.format_map(_Columns(model)), params)
        return cursor.rowcount


def select_with(
    model: type[models.Model],
    related: str,
    extra: Sequence[str],
    where: str,
    params: Sequence[object] = (),
) -> list[models.Model]:
    """`model`'s rows matching `where` (as in `update`), each with fields of the
    row its foreign key `related` points to as attributes `<related>_<field>`
    (`extra`: plain values such as ints). Model.objects.raw: `model`'s own
    values are converted as the ORM converts them."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    other = model._meta.get_field(related).related_model
    columns = "".join(
        f", o.{_column(other, name)} AS {quote(f'{related}_{name}')}" for name in extra
    )
    key = _column(other, "pk")
    sql = (
        f"SELECT {table}.*{columns} FROM {table}"
        f" JOIN {quote(other._meta.db_table)} o"
        f" ON o.{key} = {table}.{_column(model, related)}"
        f" WHERE {where.format_map(_Columns(model, prefix=table + '.'))}"
    )
    return list(model._default_manager.raw(sql, params))


class _Columns(dict):
    """`{field}` in a WHERE template -> the field's quoted column; `{_table}`
    the model's quoted table."""

    def __init__(self, model: type[models.Model], prefix: str = "") -> None:
        super().__init__(_table=connection.ops.quote_name(model._meta.db_table))
        self.model, self.prefix = model, prefix

    def __missing__(self, name: str) -> str:
        return self.prefix + _column(self.model, name)
