"""Build the bench input and every bench model into ``bench/.models/`` (ignored by git).

Run: ``.venv/bin/pip install -e '.[bench]' && .venv/bin/python scripts/make_bench_models.py
[--force] [--models iforest_100,rf_100]``. Needs Java 17 for sklearn2pmml's converter. Seeds
are fixed, so the same library versions give the same files. The bench scripts call the same
code and build what is missing, so running this first is optional; ``--force`` rebuilds.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from pmml_models import BUILDERS, CACHE, bench_models, load_input


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--force", action="store_true", help="delete the cache and rebuild")
    parser.add_argument("--models", help=f"comma-separated subset of {', '.join(BUILDERS)}")
    args = parser.parse_args()
    if args.force and CACHE.exists():
        shutil.rmtree(CACHE)
    wanted = set(args.models.split(",")) if args.models else None
    if wanted is not None and wanted - set(BUILDERS):
        parser.error(f"unknown models: {', '.join(sorted(wanted - set(BUILDERS)))}")
    for model in bench_models(load_input(), wanted):
        print(f"{model.name:12s} {model.pmml.relative_to(CACHE.parent.parent)}  {model.source}")


if __name__ == "__main__":
    main()
