"""The embedded PostgreSQL: a real server in a local data folder, for zero-setup runs and tests.

`server` runs its life (made once, shared by the processes that use it, stopped by the last);
`owner` decides whom it runs as (never root, nothing changed outside the data folder);
`secret` keeps its password; `pidfile` tells whether it runs and where; `conf` keeps its
settings and port; `programs` finds and runs the PostgreSQL binaries.
"""

from service.store.embedded.errors import EmbeddedPostgresError
from service.store.embedded.owner import scratch_folder
from service.store.embedded.programs import find_binaries
from service.store.embedded.server import EmbeddedPostgres

__all__ = ["EmbeddedPostgres", "EmbeddedPostgresError", "find_binaries", "scratch_folder"]
