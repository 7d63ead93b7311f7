"""Statements of the per-run hot path, written out once instead of compiled by
the ORM on every call.

Compiling a queryset costs more CPU than the database spends on these
statements: a claim's or a finish's `filter().update()` was 0.3-0.4 ms each in
Python, a run's read with its job 0.7 ms (cProfile of a launcher during
bench/run_trigger.py's burst, issue 18), and every on-demand run makes several.
The SQL here is what the ORM would send (the same tables, columns and
conditions, portable between SQLite and PostgreSQL); values are adapted by
their model fields exactly as the ORM adapts them, rows are converted by the
fields' converters as the ORM converts them, and the statements go through
Django's cursor (its wrappers, query logging, transactions).

On PostgreSQL they are bound on the server and prepared once they repeat
(`bound_cursor`, config/postgresql/base.py).

Each statement's text is built once per shape (model, fields, condition) and
kept (`_built`): building it again quoted every column through Django's
connection proxy, which was most of a short read's CPU.

Use it only where a profile shows the compile; everywhere else the ORM reads
better.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, models

# Statement texts by shape; the shapes come from the code (a trim's count of
# runs is the one that varies), so this stays small: cleared if it ever is not.
_BUILT: dict[tuple, object] = {}
_BUILT_MAX = 512


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
    db = connections[DEFAULT_DB_ALIAS]
    add = add or {}
    sql, fields = _built(
        db,
        ("update", model, *values, "+", *add, where),
        lambda: _update_sql(db, model, values, add, where),
    )
    with _cursor(db) as cursor:
        cursor.execute(sql, _update_args(db, fields, values, add, params))
        return cursor.rowcount


def update_returning(
    model: type[models.Model],
    values: dict[str, object],
    where: str,
    params: Sequence[object],
    *,
    related: str,
    extra: Sequence[str],
) -> list[models.Model]:
    """`update` (without `add`) that returns the rows it updated, as
    instances with their new values, each with fields of the row its foreign
    key `related` points to as `<related>_<field>` (as in `select_with`): one
    statement for a claim and the read after it. Only where the database
    has RETURNING (`returning()`)."""
    db = connections[DEFAULT_DB_ALIAS]

    def build() -> tuple[str, list[models.Field]]:
        sql, fields = _update_sql(db, model, values, {}, where)
        table = _quote(db, model._meta.db_table)
        other = model._meta.get_field(related).related_model
        key = f"{table}.{_column(db, model, related)}"
        columns = "".join(
            f", (SELECT o.{_column(db, other, name)}"
            f" FROM {_quote(db, other._meta.db_table)} o"
            f" WHERE o.{_column(db, other, 'pk')} = {key})"
            f" AS {_quote(db, f'{related}_{name}')}"
            for name in extra
        )
        return f"{sql} RETURNING {_all_columns(db, model, table)}{columns}", fields

    sql, fields = _built(
        db, ("update_returning", model, *values, where, related, *extra), build
    )
    args = _update_args(db, fields, values, {}, params)
    return _instances(db, model, sql, args, [f"{related}_{name}" for name in extra])


def returning() -> bool:
    """Whether the database has `RETURNING` (PostgreSQL; SQLite from 3.35)."""
    return connections[DEFAULT_DB_ALIAS].features.can_return_columns_from_insert


def _update_sql(db, model, values, add, where) -> tuple[str, list[models.Field]]:
    fields = [model._meta.get_field(name) for name in values]
    sets = [f"{_quote(db, field.column)} = %s" for field in fields]
    for name in add:
        column = _column(db, model, name)
        sets.append(f"{column} = {column} + %s")
    condition = where.format_map(_Columns(db, model))
    table = _quote(db, model._meta.db_table)
    return f"UPDATE {table} SET {', '.join(sets)} WHERE {condition}", fields


def _update_args(db, fields, values, add, params) -> list:
    """The SET values adapted as a save adapts them, then `add`'s, then `params`."""
    args = [
        f.get_db_prep_save(v, db) for f, v in zip(fields, values.values(), strict=True)
    ]
    return [*args, *add.values(), *params]


def select(
    model: type[models.Model],
    where: str,
    params: Sequence[object] = (),
    *,
    extra: dict[str, str] | None = None,
) -> list[models.Model]:
    """`model`'s rows matching `where` (as in `update`), as instances. `extra`:
    attribute -> an SQL expression (`{field}` placeholders too), set on each
    instance as the plain value the database returns."""
    db = connections[DEFAULT_DB_ALIAS]
    extra = extra or {}

    def build() -> str:
        table = _quote(db, model._meta.db_table)
        columns = _Columns(db, model, prefix=table + ".")
        added = "".join(
            f", {sql.format_map(columns)} AS {_quote(db, name)}"
            for name, sql in extra.items()
        )
        sql = f"SELECT {_all_columns(db, model, table)}{added} FROM {table}"
        return f"{sql} WHERE {where.format_map(columns)}"

    sql = _built(db, ("select", model, where, *extra.items()), build)
    return _instances(db, model, sql, params, list(extra))


def select_rows(
    model: type[models.Model],
    fields: Sequence[str],
    where: str,
    params: Sequence[object] = (),
) -> list[tuple]:
    """`SELECT <fields> FROM <model's table> WHERE <where>` (as in `update`):
    the rows as tuples of plain values (ints and strings: no conversion)."""
    db = connections[DEFAULT_DB_ALIAS]

    def build() -> str:
        columns = ", ".join(_column(db, model, name) for name in fields)
        table = _quote(db, model._meta.db_table)
        condition = where.format_map(_Columns(db, model))
        return f"SELECT {columns} FROM {table} WHERE {condition}"

    sql = _built(db, ("rows", model, *fields, where), build)
    with _cursor(db) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(model: type[models.Model], sql: str, params: Sequence[object] = ()) -> int:
    """A statement over `model`'s table: `{_table}` is the quoted table,
    `{field}` a quoted column (as in `update`); the rows it changed."""
    with _executed(model, sql, params) as cursor:
        return cursor.rowcount


def execute_rows(
    model: type[models.Model], sql: str, params: Sequence[object] = ()
) -> list[tuple]:
    """`execute`, for a statement that returns rows (`RETURNING`): the rows,
    as tuples of plain values."""
    with _executed(model, sql, params) as cursor:
        return cursor.fetchall()


@contextmanager
def _executed(model: type[models.Model], sql: str, params: Sequence[object]):
    """The cursor that ran `sql` (as in `execute`), open while the caller reads."""
    db = connections[DEFAULT_DB_ALIAS]
    text = _built(
        db, ("execute", model, sql), lambda: sql.format_map(_Columns(db, model))
    )
    with _cursor(db) as cursor:
        cursor.execute(text, params)
        yield cursor


def select_with(
    model: type[models.Model],
    related: str,
    extra: Sequence[str],
    where: str,
    params: Sequence[object] = (),
) -> list[models.Model]:
    """`model`'s rows matching `where` (as in `update`), as instances, each
    with fields of the row its foreign key `related` points to as attributes
    `<related>_<field>` (`extra`: plain values such as ints)."""
    db = connections[DEFAULT_DB_ALIAS]

    def build() -> str:
        table = _quote(db, model._meta.db_table)
        other = model._meta.get_field(related).related_model
        columns = "".join(
            f", o.{_column(db, other, name)} AS {_quote(db, f'{related}_{name}')}"
            for name in extra
        )
        return (
            f"SELECT {_all_columns(db, model, table)}{columns} FROM {table}"
            f" JOIN {_quote(db, other._meta.db_table)} o"
            f" ON o.{_column(db, other, 'pk')} = {table}.{_column(db, model, related)}"
            f" WHERE {where.format_map(_Columns(db, model, prefix=table + '.'))}"
        )

    sql = _built(db, ("with", model, related, *extra, where), build)
    return _instances(db, model, sql, params, [f"{related}_{name}" for name in extra])


def insert(obj: models.Model) -> None:
    """`INSERT` one new instance, as `save(force_insert=True)` writes it (each
    field's pre_save and adaptation; no signals: only for a model no one
    listens to), and set its primary key."""
    db = connections[DEFAULT_DB_ALIAS]
    model, pk = type(obj), type(obj)._meta.pk
    new_key = getattr(obj, pk.attname) is None and pk.db_returning

    def build() -> tuple[str, list[models.Field], bool]:
        fields = [
            f
            for f in model._meta.local_concrete_fields
            if not f.generated and not (new_key and f is pk)
        ]
        returning = new_key and db.features.can_return_columns_from_insert
        sql = (
            f"INSERT INTO {_quote(db, model._meta.db_table)}"
            f" ({', '.join(_quote(db, f.column) for f in fields)})"
            f" VALUES ({', '.join(['%s'] * len(fields))})"
            + (f" RETURNING {_quote(db, pk.column)}" if returning else "")
        )
        return sql, fields, returning

    sql, fields, returning = _built(db, ("insert", model, new_key), build)
    values = [f.get_db_prep_save(f.pre_save(obj, True), db) for f in fields]
    with _cursor(db) as cursor:
        cursor.execute(sql, values)
        if new_key:
            key = cursor.fetchone()[0] if returning else cursor.lastrowid
            setattr(obj, pk.attname, key)
    obj._state.adding, obj._state.db = False, db.alias


def _cursor(db):
    """Where the backend has one (config/postgresql/), a cursor that binds on
    the server, so that these statements, run again and again, are prepared;
    else Django's cursor."""
    bound = getattr(db, "bound_cursor", None)
    return bound() if bound is not None else db.cursor()


def _built(db, shape: tuple, build: Callable[[], object]):
    """What `build` makes for this shape of statement on this database, made
    once."""
    key = (db.alias, db.vendor, *shape)
    found = _BUILT.get(key)
    if found is None:
        if len(_BUILT) >= _BUILT_MAX:
            _BUILT.clear()
        found = _BUILT[key] = build()
    return found


def _quote(db, name: str) -> str:
    return db.ops.quote_name(name)


def _column(db, model: type[models.Model], name: str) -> str:
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    return _quote(db, field.column)


def _all_columns(db, model: type[models.Model], table: str) -> str:
    """The model's concrete columns, in the order `from_db` takes them."""
    return ", ".join(
        f"{table}.{_quote(db, f.column)}" for f in model._meta.concrete_fields
    )


def _instances(
    db, model: type[models.Model], sql: str, params: Sequence[object], extra: list[str]
) -> list[models.Model]:
    """The rows of `sql` (the model's concrete columns, then one column per
    name of `extra`) as instances, each value converted by its field's
    converters (RawQuerySet did this too, and cost twice as much: it resolved
    the columns, converters and init order again on every call)."""
    names, converters = _built(db, ("readers", model), lambda: _readers(db, model))
    with _cursor(db) as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found = []
    for row in rows:
        values = list(row[: len(names)])
        for pos, convs, col in converters:
            value = values[pos]
            for convert in convs:
                value = convert(value, col, db)
            values[pos] = value
        obj = model.from_db(db.alias, names, values)
        for attr, value in zip(extra, row[len(names) :], strict=True):
            setattr(obj, attr, value)
        found.append(obj)
    return found


def _readers(db, model: type[models.Model]) -> tuple[list[str], list[tuple]]:
    """The model's attnames in column order and, for each column that has
    any, the converters of the backend and of the field, as the ORM's
    compiler gathers them."""
    names, converters = [], []
    for pos, field in enumerate(model._meta.concrete_fields):
        names.append(field.attname)
        col = field.get_col(model._meta.db_table)
        convs = db.ops.get_db_converters(col) + col.get_db_converters(db)
        if convs:
            converters.append((pos, convs, col))
    return names, converters


class _Columns(dict):
    """`{field}` in a WHERE template -> the field's quoted column; `{_table}`
    the model's quoted table."""

    def __init__(self, db, model: type[models.Model], prefix: str = "") -> None:
        super().__init__(_table=_quote(db, model._meta.db_table))
        self.db, self.model, self.prefix = db, model, prefix

    def __missing__(self, name: str) -> str:
        return self.prefix + _column(self.db, self.model, name)
