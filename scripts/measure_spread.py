"""How much each checked number moves across CPU kernels, and whether its tolerance covers that.

    python scripts/measure_spread.py run CONFIG [NOTEBOOK ...]   # execute under CONFIG, log values
    python scripts/measure_spread.py report                      # table → docs/portability.md

`run` executes the lectures and the homework solutions (or the notebooks named) with torch's
kernel dispatch forced by CONFIG (see CONFIGS) and a fresh result cache, and keeps the value every
`cnnlens.course` check saw, at full precision, in build/spread/CONFIG/. Any other run logs the
same way with CNNLENS_CHECK_LOG=build/spread/NAME/FILE.jsonl (e.g. around `make test-isa`).
`report` compares the configurations: for each checked number its spread (largest minus smallest
value) and the tolerance answers.json gives it. It exits with status 1 if a tolerance is under 3×
its spread, or if a value that must be exact (a count, a label) differs between configurations.
Never set OPENBLAS_CORETYPE or OPENBLAS_L2_SIZE here: they guard against wrong results.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "build" / "spread"
TABLE = ROOT / "docs" / "portability.md"
MARK = "<!-- measured table: scripts/measure_spread.py report -->"
MARGIN = 3  # a tolerance must be at least this many times the measured spread

# Each configuration forces torch's own vectorized kernels (ATEN_CPU_CAPABILITY) and caps oneDNN's
# convolutions (ONEDNN_MAX_CPU_ISA); "native" lets both pick the best the CPU offers.
CONFIGS = {
    "native": {},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "default": {"ATEN_CPU_CAPABILITY": "default"},
    "default-sse41": {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"},
    "default-sse41-1thread": {
        "ATEN_CPU_CAPABILITY": "default",
        "ONEDNN_MAX_CPU_ISA": "SSE41",
        "OMP_NUM_THREADS": "1",
    },
}


def notebooks() -> list[Path]:
    """The notebooks with checks: the lectures and the homework solutions."""
    return sorted(ROOT.glob("notebooks/*.ipynb")) + sorted(ROOT.glob("course/*_homework.ipynb"))


def run(config: str, paths: list[Path]) -> None:
    """Execute each notebook under the configuration, logging its checks' values."""
    out = LOGS / config
    out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        log = out / f"{path.stem}.jsonl"
        log.unlink(missing_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            env = {
                **os.environ,
                **CONFIGS[config],
                "CNNLENS_CHECK_LOG": str(log),
                "CNNLENS_CACHE": scratch,  # no result computed under another configuration
                "TQDM_DISABLE": "1",
            }
            command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook"]
            command += ["--execute", "--allow-errors", "--ExecutePreprocessor.timeout=600"]
            command += ["--output-dir", scratch, str(path)]
            subprocess.run(command, env=env, check=True, capture_output=True)
        print(f"{config}: {path.name}", flush=True)


def leaves(value: object, path: str = "") -> dict[str, object]:
    """Every scalar inside a nested value, by its path: {"relu2[0]": 0.15, ...}."""
    if isinstance(value, dict):
        parts = [leaves(item, f"{path} {key}") for key, item in value.items()]
        return {k: v for part in parts for k, v in part.items()}
    if isinstance(value, list):
        parts = [leaves(item, f"{path}[{i}]") for i, item in enumerate(value)]
        return {k: v for part in parts for k, v in part.items()}
    return {path.strip(): value}


def tolerance_of(tol: object, path: str) -> float:
    """A leaf's tolerance: a number applies to all leaves, a dict gives each top-level key one."""
    if isinstance(tol, dict):
        return next((t for key, t in tol.items() if path == key or path.startswith(key)), 0.0)
    return float(tol)


def current_tolerances() -> dict[tuple[str, str], object]:
    """{(section, printed name): tolerance} as answers.json gives them now."""
    from cnnlens.course.checks import _answers

    tolerances = {}
    for section, items in _answers().items():
        for item, answer in items.items():
            name = f"task {item}: {answer['title']}" if item.isdigit() else answer["title"]
            tolerances[(section, name)] = answer.get("tol", 0.0)
    return tolerances


def read_logs(configs: list[str]) -> tuple[dict, dict]:
    """From every log of every config: {(section, check name): {leaf path: {config: value}}} and
    {(section, check name): the tolerance the run used}."""
    seen: dict[tuple[str, str], dict[str, dict[str, object]]] = {}
    used: dict[tuple[str, str], object] = {}
    for config in configs:
        for log in sorted((LOGS / config).glob("*.jsonl")):
            for line in log.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                key = (record.get("section") or log.stem, record["name"])
                for path, value in leaves(record["value"]).items():
                    seen.setdefault(key, {}).setdefault(path, {})[config] = value
                used[key] = record["tol"]
    return seen, used


def report() -> int:
    """Write the spread table, one row per check; return 1 if a tolerance is too tight."""
    configs = sorted(path.name for path in LOGS.iterdir() if path.is_dir())
    now = current_tolerances()
    seen, used = read_logs(configs)
    rows, bad = [], 0
    for (section, name), check in seen.items():
        tol = now.get((section, name), used[(section, name)])
        within, exact, spreads, margins, problems = 0, 0, [0.0], [], []
        for path, values in check.items():
            limit = tolerance_of(tol, path)
            numbers = [v for v in values.values() if type(v) in (int, float)]
            if len(numbers) == len(values):
                spread = max(numbers) - min(numbers)
                spreads.append(spread)
                within += bool(limit)
                exact += not limit
                margins += [limit / spread] if spread and limit else []
                problems += [path or "value"] if limit < MARGIN * spread else []
            else:
                exact += 1
                problems += (
                    [path or "value"] if len({json.dumps(v) for v in values.values()}) > 1 else []
                )
        bad += bool(problems)
        tols = sorted({tolerance_of(tol, path) for path in check} - {0.0})
        shown = " – ".join(f"{t:g}" for t in sorted({tols[0], tols[-1]})) if tols else "exact"
        margin = f"{min(margins):.0f}×" if margins else "∞"
        flag = f" **too tight: {', '.join(problems)}**" if problems else ""
        cells = [section, name, within, exact, f"{max(spreads):.2g}", shown, margin + flag]
        rows.append("| " + " | ".join(map(str, cells)) + " |")
    header = [
        "| notebook | check | numbers within a tolerance | exact values | largest spread"
        " | tolerance | smallest tolerance / spread |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    intro = TABLE.read_text(encoding="utf-8").split(MARK)[0]
    table = "\n".join([f"Configurations compared: {', '.join(configs)}.", "", *header, *rows])
    TABLE.write_text(intro + MARK + "\n" + table + "\n", encoding="utf-8")
    print(f"{len(rows)} checks over {', '.join(configs)}; {bad} with a tolerance too tight")
    return 1 if bad else 0


def main() -> int:
    if len(sys.argv) >= 3 and sys.argv[1] == "run" and sys.argv[2] in CONFIGS:
        chosen = [Path(p).resolve() for p in sys.argv[3:]] or notebooks()
        run(sys.argv[2], chosen)
        return 0
    if sys.argv[1:] == ["report"]:
        return report()
    print(__doc__.strip().splitlines()[2], file=sys.stderr)
    print(f"CONFIG is one of: {', '.join(CONFIGS)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
