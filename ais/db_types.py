"""Exact decimal columns, and the date arithmetic the running totals need, on every database.

PostgreSQL stores NUMERIC(p, s) exactly.  SQLite has no exact decimal type (NUMERIC columns
become floating point), so there the same column holds an integer count of the smallest unit
(cents for money): sums in SQL stay exact on both, and Python always sees ``Decimal``.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, Date, Numeric
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import TypeDecorator


class ExactDecimal(TypeDecorator):
    """NUMERIC(precision, scale) on PostgreSQL; scaled BIGINT on SQLite."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 14, scale: int = 2):
        super().__init__(precision, scale, asdecimal=True)
        self.precision = precision
        self.scale = scale
        self.quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):  # a float here is a bug upstream, never a rounding job
            raise TypeError("float given for an exact decimal column")
        value = Decimal(value)
        if value != value.quantize(self.quantum):
            raise ValueError(f"{value} has more than {self.scale} decimal places")
        if dialect.name == "sqlite":
            return int(value.scaleb(self.scale))
        return value.quantize(self.quantum)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale).quantize(self.quantum)
        return Decimal(value).quantize(self.quantum)

    def coerce_compared_value(self, op, value):
        return self


def Money() -> ExactDecimal:  # noqa: N802 - reads like a type in the models
    return ExactDecimal(14, 2)


class month_start(FunctionElement):  # noqa: N801 - used like a SQL function
    """The first day of a date's month, in SQL: ``date_trunc`` on PostgreSQL, ``date(..., 'start
    of month')`` on SQLite (which stores dates as ISO text)."""

    type = Date()
    inherit_cache = True
    name = "month_start"


@compiles(month_start, "postgresql")
def _month_start_postgresql(element, compiler, **kw):
    return f"CAST(date_trunc('month', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(month_start, "sqlite")
def _month_start_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)}, 'start of month')"
