"""``python -m service.healthcheck``: the container HEALTHCHECK (liveness only).

Exits 0 when the app answers /livez. Reads the port without validating the
rest of the configuration, so a probe never fails for an unrelated setting.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def main() -> int:
    port = os.environ.get("CUSTOMER_HTTP_PORT", "8003")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=2) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
