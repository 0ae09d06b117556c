"""A real Prometheus for tests: backfill OpenMetrics with promtool, start it on 127.0.0.1.

    from portal.testing.prometheus import OpenMetrics, start_prometheus

    @pytest.fixture(scope="module")
    def prom(tmp_path_factory):
        metrics = OpenMetrics()
        metrics.add("DCGM_FI_DEV_GPU_UTIL", {"gpu": "0"}, ts_seconds, 42.0)
        server = start_prometheus(metrics.text(), tmp_path_factory.mktemp("prom"))
        yield server
        server.stop()

Timestamps are in SECONDS (milliseconds land millennia ahead, silently); the file ends with
`# EOF`; samples of one series must be in time order (out-of-order ones are dropped silently).
"""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

PROMETHEUS = os.environ.get("PORTAL_PROMETHEUS_BIN", "prometheus")
PROMTOOL = os.environ.get("PORTAL_PROMTOOL_BIN", "promtool")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class OpenMetrics:
    """Collects samples per series and writes them as one OpenMetrics file, in time order."""

    def __init__(self) -> None:
        self._types: dict[str, str] = {}
        self._series: dict[str, dict[str, list[tuple[int, float]]]] = defaultdict(dict)

    def add(self, metric: str, labels: dict[str, str], ts: int, value: float, *, kind="gauge"):
        self._types.setdefault(metric, kind)
        key = ",".join(f'{k}="{_escape(str(v))}"' for k, v in sorted(labels.items()))
        self._series[metric].setdefault(key, []).append((int(ts), float(value)))

    def _lines(self):
        for metric, series in self._series.items():
            yield f"# TYPE {metric} {self._types[metric]}\n"
            for key, samples in series.items():
                head = f"{metric}{{{key}}}" if key else metric
                yield from (f"{head} {value!r} {ts}\n" for ts, value in sorted(samples))
        yield "# EOF\n"

    def text(self) -> str:
        return "".join(self._lines())

    def write(self, path: Path) -> Path:
        with open(path, "w") as fh:
            fh.writelines(self._lines())
        return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PrometheusServer:
    url: str
    pid: int
    data_dir: Path
    process: subprocess.Popen

    def stop(self) -> None:
        """Stop the server we started, by its pid."""
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.process.wait(timeout=5)

    @property
    def running(self) -> bool:
        return self.process.poll() is None


def backfill(openmetrics: str | Path, data_dir: Path) -> None:
    """promtool tsdb create-blocks-from openmetrics into `data_dir` (24h blocks: much faster)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(openmetrics, Path):
        source = openmetrics
    else:
        source = data_dir.parent / f"{data_dir.name}.om"
        source.write_text(openmetrics)
    subprocess.run(
        [
            PROMTOOL,
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--max-block-duration=24h",
            str(source),
            str(data_dir),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )


def start_prometheus(
    openmetrics: str | Path | None,
    workdir: Path,
    *,
    port: int | None = None,
    config: str | None = None,
) -> PrometheusServer:
    """Backfill (when given data) and start `prometheus` on 127.0.0.1; wait for /-/ready.
    `config` replaces the default prometheus.yml (no scrape jobs) when given."""
    workdir.mkdir(parents=True, exist_ok=True)
    data_dir = workdir / "tsdb"
    if openmetrics is not None and not data_dir.exists():
        backfill(openmetrics, data_dir)
    data_dir.mkdir(exist_ok=True)
    config_path = workdir / "prometheus.yml"
    config_path.write_text(config or "global:\n  scrape_interval: 1m\nscrape_configs: []\n")
    port = port or free_port()
    log = open(workdir / "prometheus.log", "ab")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={data_dir}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=3650d",
            "--query.lookback-delta=5m",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    log.close()
    server = PrometheusServer(
        url=f"http://127.0.0.1:{port}", pid=process.pid, data_dir=data_dir, process=process
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"prometheus exited with {process.returncode}: "
                + (workdir / "prometheus.log").read_text()[-2000:]
            )
        try:
            with urllib.request.urlopen(server.url + "/-/ready", timeout=1) as resp:  # noqa: S310
                if resp.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError("prometheus did not become ready within 30 s")
