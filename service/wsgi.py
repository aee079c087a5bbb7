"""WSGI entry point for gunicorn: `gunicorn -c gunicorn.conf.py service.wsgi:app`.

The thread caps and offline flags live in gunicorn.conf.py, set in the master's
environment: by the time this module runs, `import service` has already loaded numpy and
FAISS, too late to cap their threads here. Another WSGI server needs the same variables
(OMP_NUM_THREADS, MKL_NUM_THREADS, OPENBLAS_NUM_THREADS = MODEL_THREADS, HF_HUB_OFFLINE=1)
in its environment.
"""

from service import create_app

app = create_app()
