"""A local PostgreSQL server for `make cluster ARCHIVE=postgres`, the tests and the benchmarks.

Debian's `postgresql` package (installed with apt if missing and we are root), a data
directory of our own, started with `initdb` and `pg_ctl` (no systemd) on 127.0.0.1 and a
port we choose. PostgreSQL refuses to run as root, so as root everything runs as the
package's unprivileged `postgres` user. Password authentication (scram-sha-256) is on, as
in production, so the tests see a real password in the connection string. Not used by the
service itself.

    python -m service.postgres_server start var/postgres 5433   # prints ARCHIVE_URL
    python -m service.postgres_server stop var/postgres
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

USER = "claimcheck"  # the database superuser initdb creates
DATABASE = "claimcheck"
RUN_AS = "postgres"  # the unprivileged system user of Debian's package


class PostgresMissing(RuntimeError):
    """No PostgreSQL server binaries, and they could not be installed."""


@dataclass(frozen=True)
class LocalPostgres:
    data_dir: Path
    port: int
    password: str

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        _pg_ctl(self.data_dir, "start", "-w", "-t", "60", "-l", str(self.data_dir / "server.log"), "-o", _options(self))

    def stop(self, mode: str = "fast") -> None:
        _pg_ctl(self.data_dir, "stop", "-w", "-m", mode)

    def running(self) -> bool:
        return subprocess.run(_as_owner([_binary("pg_ctl"), "-D", str(self.data_dir), "status"]),
                              capture_output=True).returncode == 0  # fmt: skip

    def create_database(self, name: str) -> str:
        """A new empty database on this server; its connection string."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _options(server: LocalPostgres) -> str:
    # The socket in the data directory (no /var/run/postgresql needed); TCP on loopback only.
    return f"-p {server.port} -k {server.data_dir} -c listen_addresses=127.0.0.1"


def bin_dir() -> Path | None:
    """The newest installed server's bin directory."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def ensure_installed() -> Path:
    """The server's bin directory, installing Debian's `postgresql` first if it is missing."""
    found = bin_dir()
    if found is not None:
        return found
    if os.geteuid() != 0:
        raise PostgresMissing("PostgreSQL is not installed: apt-get install postgresql (as root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=True, env=env)
    found = bin_dir()
    if found is None:
        raise PostgresMissing("apt-get installed postgresql, but no initdb was found under /usr/lib/postgresql")
    return found


def _binary(name: str) -> str:
    return str(ensure_installed() / name)


def _as_owner(command: list[str]) -> list[str]:
    """As root, run as the unprivileged `postgres` user (PostgreSQL refuses root)."""
    return ["runuser", "-u", RUN_AS, "--", *command] if os.geteuid() == 0 else command


def _pg_ctl(data_dir: Path, *args: str) -> None:
    result = subprocess.run(_as_owner([_binary("pg_ctl"), "-D", str(data_dir), *args]), capture_output=True, text=True)
    if result.returncode != 0:
        log = data_dir / "server.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"pg_ctl {args[0]} failed: {result.stderr.strip() or result.stdout.strip()}\n{tail}")


def _chown(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(RUN_AS)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def init(data_dir: str | Path, port: int, password: str | None = None) -> LocalPostgres:
    """Create the data directory (if it has none yet) and the `claimcheck` database; start the server."""
    data_dir = Path(data_dir).resolve()
    secret_file = data_dir.parent / f".{data_dir.name}.password"
    if (data_dir / "PG_VERSION").exists():
        server = LocalPostgres(data_dir, port, secret_file.read_text().strip())
        if not server.running():
            server.start()
        return server
    password = password or secrets.token_urlsafe(18)
    ensure_installed()
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    _chown(data_dir)
    secret_file.write_text(password + "\n")
    secret_file.chmod(0o600)
    pwfile = data_dir.parent / f".{data_dir.name}.initdb-password"
    pwfile.write_text(password + "\n")
    _chown(pwfile)
    try:
        command = [_binary("initdb"), "-D", str(data_dir), "-U", USER, f"--pwfile={pwfile}",
                   "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"]  # fmt: skip
        result = subprocess.run(_as_owner(command), capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed: {result.stderr.strip()}")
    finally:
        pwfile.unlink(missing_ok=True)
    server = LocalPostgres(data_dir, port, password)
    server.start()
    for _ in range(50):  # pg_ctl -w returns once it accepts connections; be patient on a busy machine
        try:
            server.create_database(DATABASE)
            break
        except Exception:
            time.sleep(0.2)
    return server


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "start":
        server = init(argv[1], int(argv[2]))
        print(server.url())
        return 0
    if len(argv) == 2 and argv[0] == "stop":
        data_dir = Path(argv[1]).resolve()
        if (data_dir / "postmaster.pid").exists():
            _pg_ctl(data_dir, "stop", "-w", "-m", "fast")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
