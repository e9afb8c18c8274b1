"""Network Dissection of the embedded model's last conv layer: time for the whole call (both
passes, quantile included) and peak memory at two probe-set sizes, each in a fresh process.

Prints, per size: seconds, peak RSS, the quantile sketch's size and the detector counts; then the
ratios (time should scale with the images, peak memory should not).
python benchmarks/bench_dissection.py [--sizes 500 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = """
import json, resource, time
import cnnlens
from cnnlens.dissection import ShapeWorldProbe, dissect
from cnnlens.dissection.quantile import TailQuantile
model = cnnlens.load("shapes")
probe = ShapeWorldProbe(length={size}, seed=1)
quiet = lambda done, total: None  # noqa: E731  (no progress bar)
dissect(model, "relu4_2", probe=ShapeWorldProbe(length=8, seed=9), progress=quiet)  # warm-up
start = time.perf_counter()
result = dissect(model, "relu4_2", probe=probe, progress=quiet)
seconds = time.perf_counter() - start
sketch = TailQuantile(128, 0.995, total={size} * 64)
print(json.dumps({{
    "seconds": seconds,
    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "sketch_kib": 4 * 128 * sketch.capacity / 1024,
    "summary": result.summary(),
}}))
"""


def run(size: int) -> dict:
    """Dissect `size` probe images in a fresh interpreter; its measurements."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(size=size)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "TQDM_DISABLE": "1"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[500, 2000])
    small, large = parser.parse_args().sizes
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    measured = {size: run(size) for size in (small, large)}
    for size, m in measured.items():
        print(
            f"{size:5d} images: {m['seconds']:.1f} s, peak RSS {m['peak_mib']:.0f} MiB, "
            f"quantile buffer {m['sketch_kib']:.0f} KiB; {m['summary']}"
        )
    a, b = measured[small], measured[large]
    print(
        f"{large}/{small} images: time ×{b['seconds'] / a['seconds']:.2f}, "
        f"peak RSS ×{b['peak_mib'] / a['peak_mib']:.2f} (+{b['peak_mib'] - a['peak_mib']:.0f} MiB)"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
