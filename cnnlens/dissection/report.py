"""Export a dissection: the per-unit table as CSV, and a static HTML report.

The HTML page is self-contained (inline PNGs); pictures are passed in by the caller —
`cnnlens.plot.dissection.save_report` draws each unit's top images — so this module stays free of
drawing code.
"""

from __future__ import annotations

import base64
import csv
import html
from collections.abc import Mapping
from pathlib import Path

from cnnlens.core._legacy import legacy_calls
from cnnlens.dissection.result import Dissection

CSV_FIELDS = ("unit", "concept", "category", "iou", "detector")


def to_csv(result: Dissection, path: str | Path) -> Path:
    """Write the per-unit table as CSV: unit, concept, category, IoU (4 decimals), detector.

    The detector column is 0 or 1.

    Args:
        result: The `Dissection`.
        path: The CSV file to write.

    Returns:
        The path written.
    """
    path = Path(path)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_FIELDS)
        for row in result.labels():
            writer.writerow(
                [row.unit, row.concept, row.category, f"{row.iou:.4f}", int(row.detector)]
            )
    return path


def _image_tag(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


@legacy_calls(order=("result", "path", "pictures", "summary_png"))
def to_html(
    result: Dissection,
    path: str | Path,
    *,
    pictures: Mapping[int, bytes] | None = None,
    summary_png: bytes | None = None,
) -> Path:
    """Write a static, self-contained HTML report of a dissection.

    Summary, separately reported concepts, one row per unit (best IoU first) with its top-images
    picture from `pictures` where given.

    Args:
        result: The `Dissection`.
        path: The HTML file to write.
        pictures: PNG bytes per unit (e.g. from `cnnlens.plot.dissection.save_report`); None for
            none.
        summary_png: PNG bytes of a summary chart, or None.

    Returns:
        The path written.
    """
    pictures = pictures or {}
    esc = html.escape
    rows = sorted(result.labels(), key=lambda row: -row.iou)
    lines = [
        "<!doctype html><meta charset='utf-8'>",
        f"<title>Network Dissection of {esc(result.layer)}</title>",
        "<style>body{font-family:sans-serif} td{padding:2px 8px} .no{color:#888}</style>",
        f"<h1>Network Dissection: {esc(result.layer)}</h1>",
        f"<p>{esc(result.summary())}<br>probe set: {esc(result.probe.name)}; "
        f"unit masks: top 0.5% level{'' if result.exact_thresholds else ' (sketch)'}; "
        f"{esc(result.note or 'layer output')}</p>",
    ]
    if summary_png:
        lines.append(_image_tag(summary_png, "detectors per category"))
    for concept, (unit, iou) in result.separate_best().items():
        why = result.probe.separate[concept]
        lines.append(
            f"<p>Reported apart: <b>{esc(concept)}</b> — best unit {unit}, IoU {iou:.3f} "
            f"({esc(why)}).</p>"
        )
    lines.append(
        "<table><tr><th>unit</th><th>concept</th><th>category</th><th>IoU</th><th></th></tr>"
    )
    for row in rows:
        style = "" if row.detector else " class='no'"
        picture = _image_tag(pictures[row.unit], f"unit {row.unit}") if row.unit in pictures else ""
        lines.append(
            f"<tr{style}><td>{row.unit}</td><td>{esc(row.concept)}</td>"
            f"<td>{esc(row.category)}</td><td>{row.iou:.3f}</td><td>{picture}</td></tr>"
        )
    lines.append("</table>")
    path = Path(path)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
