"""Run by root, the embedded PostgreSQL runs as the data folder's owner and changes nothing
outside the data folder: no user is created, no folder above is opened up, no owner changes.
A data folder of root's, or one its owner cannot reach, is refused with a one-line message."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from service.store.embedded import EmbeddedPostgres, EmbeddedPostgresError, find_binaries
from service.store.embedded.owner import SCRATCH_USER

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="what root does: run as root")

LOYALTY = [sys.executable, "-m", "service.cli"]


def _modes(paths: list[Path]) -> dict[Path, tuple[int, int, int]]:
    return {p: (p.stat().st_mode, p.stat().st_uid, p.stat().st_gid) for p in paths}


def test_as_root_a_data_folder_of_roots_is_refused_and_nothing_changes(tmp_path):
    data = tmp_path / "data"
    above = [tmp_path, *tmp_path.parents]
    before, users = _modes(above), Path("/etc/passwd").read_bytes()
    with pytest.raises(EmbeddedPostgresError, match=r"mkdir -p .* && chown USER"):
        EmbeddedPostgres(data).acquire()
    assert not data.exists()
    data.mkdir()
    env = {**os.environ, "LOYALTY_DATA_DIR": str(data)}
    env.pop("DATABASE_URL", None)
    refused = subprocess.run(
        [*LOYALTY, "migrate"], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1, refused.stderr  # one line, no traceback
    assert f"chown -R USER {data}" in refused.stderr
    assert list(data.iterdir()) == []
    assert _modes(above) == before
    assert Path("/etc/passwd").read_bytes() == users


def test_as_root_a_data_folder_its_owner_cannot_reach_is_refused_not_opened_up():
    closed = Path(tempfile.mkdtemp(prefix="loyalty-closed-"))  # root's, mode 0700
    data = closed / "data"
    data.mkdir()
    nobody = pwd.getpwnam(SCRATCH_USER)
    os.chown(data, nobody.pw_uid, nobody.pw_gid)
    before = _modes([closed, *closed.parents])
    with pytest.raises(EmbeddedPostgresError, match=f"{closed} does not let it through"):
        EmbeddedPostgres(data).acquire()
    assert _modes([closed, *closed.parents]) == before
    assert list(data.iterdir()) == []


def test_as_root_the_server_runs_as_the_data_folders_owner_who_can_use_it_alone(embedded_pg):
    if embedded_pg is None:
        pytest.skip("TEST_DATABASE_URL: no embedded server")
    server, _ = embedded_pg
    owner = server.root.stat().st_uid
    assert owner != 0
    not_owned = [
        os.path.join(folder, name)
        for folder, folders, files in os.walk(server.root)
        for name in [".", *folders, *files]
        if os.lstat(os.path.join(folder, name)).st_uid != owner
    ]
    assert not_owned == []
    postmaster = (server.pgdata / "postmaster.pid").read_text().split()[0]
    assert Path(f"/proc/{postmaster}").stat().st_uid == owner
    # the owner alone, without root, reads the password and logs in; the lock is its own
    port = embedded_pg[1].rsplit(":", 1)[1].split("/")[0]
    login = (
        'exec 3<>"$1/.lock" && PGPASSWORD=$(cat "$1/postgres.password") '
        '"$2" -h 127.0.0.1 -p "$3" -U postgres -d postgres -Atc "SELECT current_user"'
    )
    alone = subprocess.run(
        ["/bin/sh", "-c", login, "sh", str(server.root), str(find_binaries() / "psql"), port],
        user=owner,
        group=server.root.stat().st_gid,
        extra_groups=[],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert alone.returncode == 0, alone.stderr
    assert alone.stdout.strip() == "postgres"


@pytest.mark.parametrize("planted", [".lock", "postgres.log"])
def test_as_root_a_link_the_folders_owner_planted_is_refused_not_followed(planted):
    """The data folder belongs to its owner, who could point a file root writes there at any
    file of the machine: root follows no link in it, and what the link points to is left as
    it was."""
    from service.store.embedded import scratch_folder

    data = scratch_folder("loyalty-link-")
    victim = Path(tempfile.mkdtemp(prefix="loyalty-victim-")) / "victim"
    victim.write_text("root's own\n")
    victim.chmod(0o644)
    before = _modes([victim])[victim]
    server = EmbeddedPostgres(data)
    if planted == "postgres.log":  # reached only once the cluster is made: make it first
        server.acquire()
        server.release()
    (data / planted).unlink(missing_ok=True)
    (data / planted).symlink_to(victim)
    with pytest.raises(EmbeddedPostgresError, match="symbolic link"):
        EmbeddedPostgres(data).acquire()
    assert _modes([victim])[victim] == before
    assert victim.read_text() == "root's own\n"
