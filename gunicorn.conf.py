"""gunicorn settings, sized for this 2-core machine; every value can be overridden from the environment.

The model and index are loaded inside each worker after the fork (no `preload_app`):
torch and FAISS thread pools created before a fork can deadlock the children.
"""

import multiprocessing
import os

_cores = multiprocessing.cpu_count()

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
# One worker per core, each with one torch/FAISS thread: the cores are shared, not oversubscribed.
workers = int(os.environ.get("WEB_CONCURRENCY", str(_cores)))
# A few threads per worker so slow clients and cheap endpoints (/healthz) don't wait on an encode.
worker_class = "gthread"
threads = int(os.environ.get("THREADS", "4"))
preload_app = False
timeout = int(os.environ.get("WORKER_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# The app writes its own JSON access log line per request, with the request id.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# Set in the master's environment so every worker inherits them before it imports torch.
_torch_threads = os.environ.setdefault("TORCH_THREADS", "1")
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, _torch_threads)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
