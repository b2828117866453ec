"""Load the demo data: the same as ``flask --app ais seed``.

    python seed.py

Builds the schema with the migrations if needed, then loads the demo once (a second run
changes nothing).  Refuses when AIS_ENV=production.
"""

import sys

from ais import create_app
from ais.commands import seed


def main() -> int:
    app = create_app()
    with app.app_context():
        return seed()


if __name__ == "__main__":
    sys.exit(main())
