"""Forward schema migrations, one registry per backend: version N builds on version N-1.

A store records its version (SQLite: ``meta.schema_version``; PostgreSQL: the
``patterdash_meta`` row); opening applies the missing steps in order, each in its own
transaction, and refuses a store newer than the code (``SchemaTooNew``).
"""

from patterdash.store.migrations.postgres import POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION
from patterdash.store.migrations.sqlite import SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION

__all__ = ["POSTGRES_MIGRATIONS", "POSTGRES_SCHEMA_VERSION", "SQLITE_MIGRATIONS", "SQLITE_SCHEMA_VERSION"]
