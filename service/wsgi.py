"""WSGI entry point for gunicorn: `gunicorn service.wsgi:app` (see gunicorn.conf.py)."""

import os

# Thread caps must be in the environment before torch/OpenMP is first imported,
# or every worker starts one thread per core and they fight over the CPUs.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, os.environ.get("TORCH_THREADS", "1"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from service import create_app  # noqa: E402

app = create_app()
