"""Run gpu-portal locally: migrate, seed demo data, then serve web + Celery worker + Celery beat.

    python scripts/run_portal.py [--no-setup] [--port 8000]

Expects DATABASE_URL and REDIS_URL (scripts/devservices.py provides them). The three processes
run until Ctrl-C or until one of them dies; then all are stopped, by pid. Their output is
prefixed with the process name.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
COLOURS = {"web": "\033[36m", "worker": "\033[33m", "beat": "\033[35m"}
RESET = "\033[0m"
_print_lock = threading.Lock()


def say(name: str, line: str) -> None:
    if sys.stdout.isatty():
        prefix = f"{COLOURS.get(name, '')}{name:>6} |{RESET} "
    else:
        prefix = f"{name:>6} | "
    with _print_lock:
        sys.stdout.write(prefix + line.rstrip("\n") + "\n")
        sys.stdout.flush()


def manage(*args: str, capture: bool = False) -> str:
    done = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, check=True, text=True, capture_output=capture
    )
    if capture:
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
    return done.stdout or ""


def commands(port: int, datadir: Path) -> dict[str, list[str]]:
    celery = [PY, "-m", "celery", "-A", "portal"]
    return {
        "web": [
            PY,
            "-m",
            "gunicorn",
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            os.environ.get("WEB_CONCURRENCY", "2"),
            "--threads",
            "4",
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "5",
            "--no-control-socket",
        ],
        "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"],
        "beat": [
            *celery,
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(datadir / "celerybeat-schedule"),
            "--pidfile",
            "",
        ],
    }


def pump(name: str, proc: subprocess.Popen) -> None:
    for line in proc.stdout:
        say(name, line)


def stop(procs: dict[str, subprocess.Popen], timeout: float = 10) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for name, proc in procs.items():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(name, f"did not stop in {timeout:.0f}s; killing pid {proc.pid}")
            proc.kill()
            proc.wait()


def supervise(port: int, datadir: Path, banner: str = "") -> int:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    procs: dict[str, subprocess.Popen] = {}
    stopping = threading.Event()

    def on_signal(signum, _frame):
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        for name, argv in commands(port, datadir).items():
            # Own session: Ctrl-C reaches only this supervisor, which stops everyone in order.
            procs[name] = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
                start_new_session=True,
            )
            threading.Thread(target=pump, args=(name, procs[name]), daemon=True).start()
            say(name, f"started, pid {procs[name].pid}")
        say("portal", f"serving http://127.0.0.1:{port}/ - Ctrl-C stops web, worker and beat")
        if banner:  # again, once the start-up banners have scrolled the first copy away
            lines = banner.splitlines()
            timer = threading.Timer(5, lambda: [say("portal", line) for line in lines])
            timer.daemon = True
            timer.start()
        exit_code = 0
        while not stopping.is_set():
            for name, proc in procs.items():
                if proc.poll() is not None:
                    say(name, f"exited with code {proc.returncode}; stopping the others")
                    exit_code = proc.returncode or 1
                    stopping.set()
                    break
            stopping.wait(0.5)
        return exit_code
    finally:
        stop(procs)
        say("portal", "stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-setup", action="store_true", help="skip migrate/collectstatic/seed")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args(argv)
    for var in ("DATABASE_URL", "REDIS_URL"):
        if not os.environ.get(var):
            print(f"{var} is not set; run through scripts/devservices.py", file=sys.stderr)
            return 2
    datadir = Path(os.environ.get("PORTAL_DEVDATA", ROOT / ".devdata"))
    datadir.mkdir(parents=True, exist_ok=True)
    os.environ["PORT"] = str(args.port)  # seed_demo prints the URL with it
    banner = ""
    if not args.no_setup:
        manage("migrate", "--noinput")
        manage("collectstatic", "--noinput", "--verbosity", "0")
        seeded = manage("seed_demo", capture=True)
        banner = seeded[seeded.find("Demo logins") :] if "Demo logins" in seeded else ""
    return supervise(args.port, datadir, banner)


if __name__ == "__main__":
    sys.exit(main())
