"""nginx in front of several instances of the service on this host: `make cluster`.

    python scripts/cluster.py --instances 2 --port 8080      # Ctrl-C or SIGTERM stops everything

Starts INSTANCES gunicorn instances (gunicorn.conf.py, WEB_CONCURRENCY workers each: by
default the cores divided among them) on ports PORT+1 to PORT+INSTANCES (`--instance-port`),
all serving the same INDEX_DIR, and
nginx (deploy/nginx.conf, the @NAME@ values filled in) on 127.0.0.1:PORT in front of them,
in the foreground. Each instance's output goes to var/cluster/instance-N.log. An instance
that dies is restarted on its port (nginx sends its requests to the others meanwhile); on
SIGINT/SIGTERM, or when nginx exits, it stops everything it started, exiting non-zero
after a failure. Every instance writes (the archive's locks make writes from several processes
safe), so `claimcheck_write` lists them all here.

    python scripts/cluster.py --instances 3 --port 8080 --archive postgres

With `--archive postgres` (`make cluster ARCHIVE=postgres`) the instances are separate hosts
sharing one archive in PostgreSQL: a local server (service/postgres_server.py: Debian's
package, data in var/postgres, on PORT + INSTANCES + 1) is started and migrated; each
instance gets its own INDEX_DIR (var/cluster/host-N), its replica and snapshots, built from
the vectors stored in PostgreSQL (the first host embeds ARTICLES when the archive is empty),
and ARCHIVE_URL. Every instance follows the archive's log, so a write through any of them is
answered by all within about a second.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.processes import free_port, gunicorn_command, wait_until_ready  # noqa: E402

NGINX_TEMPLATE = ROOT / "deploy" / "nginx.conf"
# An instance that dies is restarted; one that dies this many times within seconds of
# starting (a bad setting, a missing index) stops the cluster instead.
RESTART_WINDOW_S = 10.0
MAX_FAST_FAILURES = 3


def render(template: str, listen: str, servers: list[str], runtime: Path, max_body: int) -> str:
    """deploy/nginx.conf with its @NAME@ values filled in."""
    lines = "\n".join(f"        server {s} max_fails=1 fail_timeout=5s;" for s in servers)
    values = {
        "@LISTEN@": listen,
        "@READ_SERVERS@": lines,
        "@WRITE_SERVERS@": lines,
        "@RUNTIME@": str(runtime),
        "@MAX_BODY@": f"{max_body // 1024}k",
    }
    for key, value in values.items():
        template = template.replace(key, value)
    left = re.findall(r"@[A-Z_]+@", template)
    if left:
        raise ValueError(f"deploy/nginx.conf has values cluster.py does not fill in: {sorted(set(left))}")
    return template


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        raise SystemExit("nginx is not installed: `make cluster` installs Debian's nginx-light with apt")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=int(os.environ.get("INSTANCES", "2")))
    parser.add_argument("--port", type=int, default=int(os.environ.get("CLUSTER_PORT", "8080")))
    parser.add_argument("--workers", type=int, default=0, help="workers per instance (default: cores / instances)")
    parser.add_argument("--logs", default=str(ROOT / "var" / "cluster"), help="instances' log directory")
    parser.add_argument(
        "--instance-port",
        type=int,
        default=None,
        help="the first instance's port, the others follow (default: PORT + 1; 0: any free ports). "
        "Fixed ports let Prometheus scrape each instance's /metrics",
    )
    parser.add_argument(
        "--archive",
        choices=("sqlite", "postgres"),
        default=os.environ.get("ARCHIVE") or "sqlite",
        help="sqlite: the instances share INDEX_DIR; postgres: separate hosts sharing a PostgreSQL archive",
    )
    parser.add_argument(
        "--articles", default=os.environ.get("ARTICLES", "data/articles"), help="what the first host embeds"
    )
    args = parser.parse_args(argv)
    if args.instances < 1:
        parser.error("--instances must be at least 1")
    nginx_path = nginx_binary()  # before starting anything: no instances to stop if it is missing
    workers = args.workers or max(1, (os.cpu_count() or 1) // args.instances)
    max_body = int(os.environ.get("MAX_REQUEST_BYTES", str(4 * 1024 * 1024)))
    logs = Path(args.logs)
    logs.mkdir(parents=True, exist_ok=True)
    runtime = Path(tempfile.mkdtemp(prefix="claimcheck-nginx-"))
    os.chmod(runtime, 0o755)  # nginx's workers (user nobody when run as root) read and write below it

    instances: list[subprocess.Popen] = []
    started: list[float] = []
    fast_failures = [0] * args.instances
    nginx: subprocess.Popen | None = None
    stopping = False

    def stop(signum=None, frame=None):
        nonlocal stopping
        stopping = True

    postgres = None
    host_env: list[dict[str, str]] = [{} for _ in range(args.instances)]

    def start_instance(i: int, port: int) -> subprocess.Popen:
        env = {**os.environ, "PORT": str(port), "WEB_CONCURRENCY": str(workers), **host_env[i]}
        env.pop("BIND", None)
        if env.get("PROMETHEUS_MULTIPROC_DIR"):  # one directory per instance: each empties its own at start
            env["PROMETHEUS_MULTIPROC_DIR"] = str(Path(env["PROMETHEUS_MULTIPROC_DIR"]) / f"instance-{i}")
        with open(logs / f"instance-{i}.log", "ab") as log:
            return subprocess.Popen(
                gunicorn_command(),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    failed = False
    try:
        if args.archive == "postgres":
            postgres = shared_archive(args, logs, host_env)
        first = args.port + 1 if args.instance_port is None else args.instance_port
        ports = [first + i for i in range(args.instances)] if first else [free_port() for _ in range(args.instances)]
        for i, port in enumerate(ports):
            instances.append(start_instance(i, port))
            started.append(time.monotonic())
        for port, child in zip(ports, instances, strict=True):
            wait_until_ready(f"http://127.0.0.1:{port}", child, checks=2 * workers, timeout=300)
        conf = runtime / "nginx.conf"
        servers = [f"127.0.0.1:{p}" for p in ports]
        conf.write_text(render(NGINX_TEMPLATE.read_text("utf-8"), f"127.0.0.1:{args.port}", servers, runtime, max_body))
        nginx = subprocess.Popen(
            [nginx_path, "-p", str(runtime), "-c", str(conf), "-e", "stderr", "-g", "daemon off;"],
            start_new_session=True,
        )
        print(
            f"cluster: nginx on http://127.0.0.1:{args.port} in front of {args.instances} instances "
            f"({workers} workers each) on ports {', '.join(map(str, ports))}; logs in {logs}",
            flush=True,
        )
        while not stopping:
            if nginx.poll() is not None:
                raise RuntimeError(f"nginx exited with {nginx.returncode}")
            for i, child in enumerate(instances):
                if child.poll() is None:
                    continue
                # nginx sends its requests to the others meanwhile (proxy_next_upstream).
                quick = time.monotonic() - started[i] < RESTART_WINDOW_S
                fast_failures[i] = fast_failures[i] + 1 if quick else 0
                if fast_failures[i] >= MAX_FAST_FAILURES:
                    raise RuntimeError(f"instance {i} exited {MAX_FAST_FAILURES} times within seconds of starting")
                print(
                    f"cluster: instance {i} (port {ports[i]}) exited with {child.returncode}; restarting it", flush=True
                )
                instances[i] = start_instance(i, ports[i])
                started[i] = time.monotonic()
            time.sleep(0.5)
    except Exception as exc:  # an instance that never got ready, nginx that would not start or died
        failed = True
        print(f"cluster: {exc}; stopping", file=sys.stderr, flush=True)
    finally:
        # nginx first (QUIT is its graceful stop), so no request reaches an instance going down;
        # then the instances (TERM is gunicorn's graceful stop: requests in flight finish).
        for child, sig in [(nginx, signal.SIGQUIT)] + [(c, signal.SIGTERM) for c in instances]:
            if child is not None and child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(sig)
        for child in [nginx, *instances]:
            if child is None:
                continue
            try:
                child.wait(timeout=35)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        shutil.rmtree(runtime, ignore_errors=True)
        if postgres is not None and postgres.running():
            postgres.stop()
    return 1 if failed else 0


def shared_archive(args: argparse.Namespace, logs: Path, host_env: list[dict[str, str]]):
    """Start and migrate the local PostgreSQL; give each host its replica (built from the stored
    vectors; the first host embeds the articles into an empty archive) and its environment."""
    from index.storage.postgres import PostgresArchive
    from service.postgres_server import init

    server = init(ROOT / "var" / "postgres", args.port + args.instances + 1)
    url = server.url()
    primary = PostgresArchive(url)
    primary.migrate()
    empty = primary.generation() == 0
    primary.close()
    build = [sys.executable, str(ROOT / "scripts" / "build_index.py"), "--no-progress"]
    for i in range(args.instances):
        host = logs / f"host-{i + 1}"
        host_env[i].update({"INDEX_DIR": str(host), "ARCHIVE_URL": url})
        if (host / "CURRENT").exists():
            continue  # it catches up from the log when it starts
        if empty and i == 0:
            command = [*build, "--archive", url, "--out", str(host), args.articles]
        else:
            command = [*build, "--from-archive", url, "--out", str(host)]
        subprocess.run(command, cwd=ROOT, check=True, env={**os.environ, "ARCHIVE_URL": url})
    print(f"cluster: PostgreSQL {primary.display} (data in {server.data_dir})", flush=True)
    return server


if __name__ == "__main__":
    sys.exit(main())
