"""The figures of every run: medians and spreads, the targets, the table and the PNG."""

from __future__ import annotations

import re
import statistics
from pathlib import Path
from typing import Any

from bench.compare.plan import HOST, PLAIN, SERVERS
from bench.stats import percentile

# --------------------------------------------------------------------------- report


def build_summary(result: dict[str, Any]) -> dict[str, float | None]:
    """The headline figures of one server in one run, flat."""
    figures: dict[str, float | None] = {}
    if "page_load" in result:
        figures["page_load_cold_median_ms"] = result["page_load"]["cold"]["median_ms"]
        figures["page_load_warm_median_ms"] = result["page_load"]["warm"]["median_ms"]
    if "bytes" in result:
        bytes_ = result["bytes"]
        figures["bytes_dashboard_cold"] = bytes_["dashboard"]["wire_bytes"]
        figures["bytes_whoami_after"] = bytes_["whoami"]["wire_bytes"]
    if "slider" in result:
        figures["slider_p50_ms"] = result["slider"].get("p50")
        figures["slider_p95_ms"] = result["slider"].get("p95")
        trace = result["slider"].get("trace", {})
        for part in ("key_to_post", "post_to_response", "post_to_output_frame"):
            figures[f"slider_{part}_ms"] = trace.get(part)
        figures["slider_output_frame_to_dom_ms"] = trace.get("output_frame_to_dom")
    if "post" in result:
        figures["change_p50_ms"] = result["post"]["change"].get("p50")
        figures["post_p50_ms"] = result["post"].get("p50")
        figures["post_p95_ms"] = result["post"].get("p95")
    for round_ in result.get("concurrency", []):
        n = round_["sessions"]
        figures[f"n{n}_success_rate"] = round_["success_rate"]
        figures[f"n{n}_session_start_p50_ms"] = round_["first_output_ms"].get("p50")
        figures[f"n{n}_change_p50_ms"] = round_["change_ms"].get("p50")
        figures[f"n{n}_change_p95_ms"] = round_["change_ms"].get("p95")
        figures[f"n{n}_changes_per_s"] = round_["changes_per_s"]
        figures[f"n{n}_rss_per_session_mb"] = round_["rss_per_session_mb"]
    return figures


def combine(runs: list[dict[str, dict[str, float | None]]]) -> dict[str, dict[str, dict]]:
    """Per server and figure: the median of the runs, the spread, every run's value."""
    out: dict[str, dict[str, dict]] = {}
    for name in SERVERS:
        keys = [k for run in runs for k in run.get(name, {})]
        out[name] = {}
        for key in dict.fromkeys(keys):
            values = [run[name].get(key) for run in runs if name in run]
            present = [v for v in values if v is not None]
            out[name][key] = {
                "median": statistics.median(present) if present else None,
                "min": min(present) if present else None,
                "max": max(present) if present else None,
                "runs": values,
            }
    return out


def ratio(summary_: dict[str, dict[str, dict]], key: str) -> float | None:
    """notebook_host's median over plain marimo's."""
    a = summary_[HOST].get(key, {}).get("median")
    b = summary_[PLAIN].get(key, {}).get("median")
    return round(a / b, 3) if a is not None and b else None


#: The issue's targets, as (figure, "<=" or ">=", bound on notebook_host / plain marimo).
TARGETS: list[tuple[str, str, float]] = [
    ("slider_p50_ms", "<=", 1.0),
    ("slider_p95_ms", "<=", 1.1),
    ("page_load_warm_median_ms", "<=", 1.0),
    ("page_load_cold_median_ms", "<=", 0.9),
    ("bytes_dashboard_cold", "<=", 0.30),
    ("n100_session_start_p50_ms", "<=", 1.0),
    ("n100_change_p50_ms", "<=", 1.0),
    ("n100_changes_per_s", ">=", 1.0),
]


def targets_met(summary_: dict[str, dict[str, dict]]) -> list[dict[str, Any]]:
    """Each target's ratio of medians, met or not, and the ratio in each run."""
    out = []
    for key, op, bound in TARGETS:
        value = ratio(summary_, key)
        if value is None:
            continue
        runs = zip(summary_[HOST][key]["runs"], summary_[PLAIN][key]["runs"], strict=True)
        out.append(
            {
                "figure": key,
                "ratio": value,
                "target": f"{op} {bound}",
                "bound": bound,
                "met": value <= bound if op == "<=" else value >= bound,
                "run_ratios": [round(a / b, 3) for a, b in runs if a is not None and b],
            }
        )
    return out


LABELS = {
    "page_load_cold_median_ms": ("page load, cold (median)", "ms"),
    "page_load_warm_median_ms": ("page load, warm (median)", "ms"),
    "slider_p50_ms": ("slider -> output p50 (Chromium)", "ms"),
    "slider_p95_ms": ("slider -> output p95 (Chromium)", "ms"),
    "slider_key_to_post_ms": ("  of which key -> POST sent", "ms"),
    "slider_post_to_response_ms": ("  POST sent -> response", "ms"),
    "slider_post_to_output_frame_ms": ("  POST sent -> output frame", "ms"),
    "slider_output_frame_to_dom_ms": ("  output frame -> DOM", "ms"),
    "change_p50_ms": ("change, 1 session: POST -> output p50", "ms"),
    "post_p50_ms": ("POST set_ui_element_value p50", "ms"),
    "post_p95_ms": ("POST set_ui_element_value p95", "ms"),
    "bytes_dashboard_cold": ("bytes, dashboard cold (A)", "kB"),
    "bytes_whoami_after": ("bytes, whoami after A (B)", "kB"),
}


def label(key: str) -> tuple[str, str]:
    if key in LABELS:
        return LABELS[key]
    match = re.fullmatch(r"n(\d+)_(.*)", key)
    assert match, key
    n, rest = match.groups()
    return {
        "success_rate": (f"N={n}: success rate", "%"),
        "session_start_p50_ms": (f"N={n}: session start p50 (GET -> output)", "ms"),
        "change_p50_ms": (f"N={n}: change p50", "ms"),
        "change_p95_ms": (f"N={n}: change p95", "ms"),
        "changes_per_s": (f"N={n}: changes per second", "1/s"),
        "rss_per_session_mb": (f"N={n}: RSS per session", "MB"),
    }[rest]


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "kB":
        return f"{value / 1000:,.0f}"
    if unit == "MB":
        return f"{value:,.2f}"
    if unit == "%":  # success rates are stored as fractions
        return f"{100 * value:,.0f}"
    return f"{value:,.1f}"


def cell(figure: dict[str, Any], unit: str, runs: int) -> str:
    """The median, and the spread [min-max] when there is more than one run."""
    text = fmt(figure.get("median"), unit)
    if runs > 1 and figure.get("min") is not None:
        text += f" [{fmt(figure['min'], unit)}-{fmt(figure['max'], unit)}]"
    return text


def table(summary_: dict[str, dict[str, dict]], runs: int) -> str:
    """The headline figures side by side: medians of the runs, spreads, ratios."""
    rows = [("figure", "unit", "notebook_host", "plain marimo", "host/plain")]
    for key in summary_[HOST]:
        text, unit = label(key)
        host, plain = summary_[HOST][key], summary_[PLAIN].get(key, {})
        value = ratio(summary_, key)
        rows.append(
            (
                text,
                unit,
                cell(host, unit, runs),
                cell(plain, unit, runs),
                "-" if value is None else f"{value:.2f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for i, row in enumerate(rows):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [c.rjust(w) for c, w in zip(row[2:], widths[2:], strict=True)]
        lines.append("  ".join(cells))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def pooled(results: dict[str, Any], name: str, *path: str) -> list[float]:
    """One figure's samples over every run, e.g. ("slider", "samples_ms")."""
    out: list[float] = []
    for run in results["runs"]:
        value: Any = run.get(name, {})
        for step in path:
            value = value.get(step, {}) if isinstance(value, dict) else {}
        out.extend(value or [])
    return out


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {HOST: "#2563eb", PLAIN: "#f97316"}
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    for ax, steps, title in (
        (axes[0], ("slider", "samples_ms"), "slider key press -> 'N points' changes (Chromium)"),
        (axes[1], ("post", "change", "samples_ms"), "1 session: POST -> output frame"),
    ):
        for name in SERVERS:
            samples = sorted(pooled(results, name, *steps))
            if samples:
                ys = [(i + 1) / len(samples) for i in range(len(samples))]
                p50 = percentile(samples, 50)
                ax.step(
                    samples,
                    ys,
                    where="post",
                    color=colors[name],
                    label=f"{name} (p50 {p50:.1f} ms)",
                )
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("ms (all runs pooled)")
        ax.set_ylabel("fraction of samples <= x")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    ax = axes[2]
    shown = results["targets"]
    for i, target in enumerate(shown):
        color = "#16a34a" if target["met"] else "#dc2626"
        ax.barh(i, target["ratio"], color=color, alpha=0.7)
        per_run = target["run_ratios"]
        if per_run:
            ax.plot(per_run, [i] * len(per_run), "k|", markersize=12)
        bound = target["bound"]
        ax.plot([bound, bound], [i - 0.4, i + 0.4], "k--", linewidth=1)
    ax.set_yticks(range(len(shown)), [label(t["figure"])[0] for t in shown], fontsize=8)
    ax.axvline(1.0, color="grey", linewidth=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("host / plain (bar: median, |: runs, --: target)")
    ax.set_title("targets", fontsize=10)
    fig.suptitle(
        f"notebook_host vs plain marimo, {results['date']}, "
        f"{len(results['runs'])} interleaved runs ({results['machine']['cpus']} CPUs)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
