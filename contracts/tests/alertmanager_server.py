"""A real Alertmanager for tests (Debian's `prometheus-alertmanager` 0.25), started on
127.0.0.1 with a given configuration, clustering off; stopped by its pid."""

import json
import os
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from portal.testing.prometheus import free_port

ALERTMANAGER = os.environ.get("PORTAL_ALERTMANAGER_BIN", "prometheus-alertmanager")
AMTOOL = os.environ.get("PORTAL_AMTOOL_BIN", "amtool")


@dataclass
class AlertmanagerServer:
    url: str
    process: subprocess.Popen

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)

    def post_alerts(self, alerts: list[dict]) -> None:
        request = urllib.request.Request(  # noqa: S310 - our own server on 127.0.0.1
            self.url + "/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            assert response.status == 200

    def amtool(self, *args: str) -> str:
        result = subprocess.run(
            [AMTOOL, f"--alertmanager.url={self.url}", *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return result.stdout


def start_alertmanager(config_yaml: str, workdir: Path) -> AlertmanagerServer:
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "alertmanager.yml"
    config.write_text(config_yaml)
    port = free_port()
    log = open(workdir / "alertmanager.log", "ab")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    log.close()
    server = AlertmanagerServer(url=f"http://127.0.0.1:{port}", process=process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"alertmanager exited with {process.returncode}: "
                + (workdir / "alertmanager.log").read_text()[-2000:]
            )
        try:
            with urllib.request.urlopen(server.url + "/-/ready", timeout=1) as resp:  # noqa: S310
                if resp.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError("alertmanager did not become ready within 30 s")
