"""Statements sent to PostgreSQL through psycopg itself, not SQLAlchemy's execution: for the
few hot paths (pg_booking, pg_contribution) that send BEGIN, a lock, one statement and
COMMIT as one message, and build ORM objects from raw rows for less than the ORM costs.
"""

from datetime import UTC

import psycopg
import sqlalchemy as sa
from psycopg import ClientCursor
from sqlalchemy.dialects.postgresql import psycopg as postgresql_psycopg
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, set_committed_value

from .extensions import db
from .models import Event, Registration

# A prepared statement's own plan from its first execution on: PostgreSQL would otherwise
# plan the first five executions on each connection anew, as costly as running it.
GENERIC_PLAN = "SET LOCAL plan_cache_mode = force_generic_plan"
# The event's row lock (registrations.lock_event, broadcast.room_change take the same one).
LOCK_EVENT = "SELECT 1 FROM event WHERE id = %(event_id)s FOR UPDATE"
# Each column's value converted as SQLAlchemy would convert it (column_values).
DIALECT = postgresql_psycopg.dialect()


def can_begin_own_transaction():
    """True when the session holds no connection yet, so one can be taken in autocommit mode
    for a message that begins and commits its own transaction."""
    transaction = db.session().get_transaction()
    return transaction is None or not transaction.connections


def autocommit_connection():
    """The session's connection, taken in autocommit mode: psycopg then sends no BEGIN of its
    own, and the message's BEGIN and COMMIT are the transaction. The session's commit gives
    the connection back to the pool as it was."""
    return db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def locked_and_committed(lock, statement, values, prepare=None, settings=()):
    """BEGIN, `lock`, `statement` and COMMIT sent as one query string, answered together:
    the statement's first row (None when it returned none). With `prepare`, that PREPARE
    goes first in the same string; `settings` (SET LOCAL) go after the BEGIN.

    One string, not a psycopg pipeline: a pipeline sends each statement in its own turn of
    the event loop, and the lock may be granted between them. Each statement of the string
    reads the rows as they are when it starts, so `statement` sees every commit made before
    the lock was granted. psycopg binds the values client-side (ClientCursor: quoted by
    libpq), as a string of statements needs. A failure rolls the whole message back; the
    caller rolls the session back too."""
    parts = [prepare] if prepare is not None else []
    parts += ["BEGIN", *settings, lock, statement, "COMMIT"]
    with executed(";\n".join(parts), values, client_side=True) as cursor:
        for _result in range(len(parts) - 2):
            cursor.nextset()
        return cursor.fetchone()


def locked_and_committed_prepared(lock, name, statement, parameters, values):
    """locked_and_committed with `statement` (its values named %(name)s) run as prepared
    statement `name`, so PostgreSQL plans it once per connection (its generic plan, at the
    first execution), not at every execution. `parameters` are (name, SQL type) in the order
    EXECUTE takes them. The first message on a connection prepares it too (a prepared
    statement outlives any rollback).

    psycopg deallocates every prepared statement of a connection (DEALLOCATE ALL) when it
    rolls back a transaction there after preparing statements of its own. A message that
    meets its statement gone is rolled back, and sent again with the PREPARE."""
    prepared = db.session.connection().connection.info.setdefault("prepared", set())
    settings = (GENERIC_PLAN,)
    execute = f"EXECUTE {name} ({', '.join(f'%({parameter})s' for parameter, _ in parameters)})"
    if name in prepared:
        try:
            return locked_and_committed(lock, execute, values, settings=settings)
        except sa.exc.ProgrammingError as error:
            if not isinstance(error.orig, psycopg.errors.InvalidSqlStatementName):
                raise
            db.session.connection().connection.dbapi_connection.rollback()
    text = statement
    for number, (parameter, _type) in enumerate(parameters, start=1):
        text = text.replace(f"%({parameter})s", f"${number}")
    types = ", ".join(sql_type for _name, sql_type in parameters)
    # Noted first: should the message fail after its PREPARE, the next one must not prepare
    # again, and should the PREPARE itself have failed, the next one meets it gone.
    prepared.add(name)
    preparing = f"PREPARE {name} ({types}) AS {text}"
    return locked_and_committed(lock, execute, values, preparing, settings)


def executed(query, values, client_side=False):
    """`query` run by psycopg on the session's connection; returns its cursor. The values are
    bound by PostgreSQL (which prepares a statement run often), or with `client_side` by
    psycopg (ClientCursor), as a string of statements needs. A failure raises the error
    SQLAlchemy would."""
    connection = db.session.connection()
    dbapi_connection = connection.connection.dbapi_connection
    cursor = ClientCursor(dbapi_connection) if client_side else dbapi_connection.cursor()
    try:
        cursor.execute(query, values)
    except psycopg.Error as error:
        cursor.close()
        raise as_sqlalchemy_error(connection, query, values, error) from error
    return cursor


def as_sqlalchemy_error(connection, query, values, error):
    """The error SQLAlchemy raises for a failed statement, its values hidden as the engine's
    hide_parameters says (nothing personal in logs); a connection that is gone is dropped."""
    dialect = connection.dialect
    gone = dialect.is_disconnect(error, connection.connection.dbapi_connection, None)
    if gone:
        connection.invalidate(error)
    return sa.exc.DBAPIError.instance(
        query,
        values,
        error,
        dialect.loaded_dbapi.Error,
        hide_parameters=connection.engine.hide_parameters,
        connection_invalidated=gone,
        dialect=dialect,
    )


def loaded(model, values, **related):
    """An object of `model` holding `values` and `related` objects as if an ORM query had
    loaded it, in no session: reading anything it was not given raises
    DetachedInstanceError rather than quietly querying or answering None."""
    instance = model.__mapper__.class_manager.new_instance()
    # As the ORM's own loading does: the column values straight into the instance's dict.
    instance_dict(instance).update(values)
    for name, value in related.items():
        set_committed_value(instance, name, value)
    make_transient_to_detached(instance)
    return instance


def column_values(loaders, row):
    """A raw row as attribute values, each converted as its column's type loads it
    (UTCDateTime: aware UTC); `loaders` from loaders_of."""
    return {
        name: load(value) if load else value
        for (name, load), value in zip(loaders, row, strict=True)
    }


def loaders_of(model):
    """(attribute name, the type's result processor or None) for each of its table's columns,
    in the table's order."""
    mapper = model.__mapper__
    return [
        (mapper.get_property_by_column(column).key, column.type.result_processor(DIALECT, None))
        for column in model.__table__.c
    ]


def columns_of(model, alias):
    """Every column of `model`'s table, in the table's order, named for `alias` in SQL."""
    return ", ".join(f"{alias}.{column.name}" for column in model.__table__.c)


def naive_utc(moment):
    """As models.UTCDateTime stores it."""
    return moment.astimezone(UTC).replace(tzinfo=None)


EVENT_LOADERS = loaders_of(Event)
REGISTRATION_LOADERS = loaders_of(Registration)
