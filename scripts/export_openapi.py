"""Print the OpenAPI document generated from the app (`make openapi` writes it to openapi.yaml)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    from service import create_app
    from service.config import Settings
    from service.openapi import spec_yaml

    # The document depends only on the routes and schemas: no model or index is loaded.
    app = create_app(Settings(), load_engine=False)
    sys.stdout.write(spec_yaml(app))
    return 0


if __name__ == "__main__":
    sys.exit(main())
