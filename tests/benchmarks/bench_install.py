"""Install benchmark: what `pip install .` costs a user, against `pip install '.[dev]'`.

    python tests/benchmarks/bench_install.py [--no-cache] [--only runtime|dev]

Creates a fresh virtual environment per variant in a temporary folder, installs this
checkout into it, and prints the wall time of the install and the size of the
environment's site-packages. With --no-cache pip downloads every wheel again (what a
fresh CI machine sees); without it, pip's local cache is used.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = {"runtime": str(ROOT), "dev": f"{ROOT}[dev]"}


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def measure(spec: str, no_cache: bool) -> tuple[float, int, int]:
    """Seconds to install `spec` into a new venv, its site-packages bytes, and dist count."""
    with tempfile.TemporaryDirectory(prefix="evalkit-install-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
        if no_cache:
            pip.append("--no-cache-dir")
        started = time.perf_counter()
        subprocess.run([*pip, spec], check=True)
        seconds = time.perf_counter() - started
        (site,) = (venv / "lib").glob("python3*/site-packages")
        dists = len(list(site.glob("*.dist-info")))
        return seconds, _size(site), dists


def main() -> None:
    """Measure each variant and print one line per variant."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("--only", choices=sorted(VARIANTS))
    args = parser.parse_args()
    for name, spec in VARIANTS.items():
        if args.only and name != args.only:
            continue
        seconds, size, dists = measure(spec, args.no_cache)
        print(f"{name:8} {seconds:7.1f} s  {size / 1e6:7.1f} MB  {dists} distributions")


if __name__ == "__main__":
    main()
