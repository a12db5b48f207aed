"""``qa eval --html``: one self-contained page (no scripts, no links out) with the
summary, bar charts of accuracy, abstention and latency, and every question with its
answer, verdict and quoted sources. Jinja2 escapes every value, document text
included, so a document cannot inject markup into the report."""

from __future__ import annotations

from datetime import UTC, datetime

from jinja2 import Environment

from qa.cli.display import cell, excerpt, where
from qa.evaluation.evaluate import EvalReport, EvalSummary

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>qa eval: {{ title }}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}
h1{font-size:1.5rem;margin-bottom:.2rem} .muted{color:#666;font-size:.9rem}
table{border-collapse:collapse;margin:1rem 0} td,th{padding:.25rem .7rem;text-align:right}
th:first-child,td:first-child{text-align:left} tr:nth-child(even){background:#f5f5f5}
.charts{display:flex;gap:2rem;flex-wrap:wrap} figure{margin:0} figcaption{font-weight:600}
.q{border-top:1px solid #ddd;padding:.6rem 0} .q h3{font-size:1rem;margin:.2rem 0}
.tag{display:inline-block;border-radius:.3rem;padding:0 .4rem;font-size:.8rem;color:#fff}
.right{background:#2e7d32} .wrong{background:#c62828} .none{background:#757575}
blockquote{margin:.3rem 0 .3rem 1rem;padding-left:.6rem;border-left:3px solid #90caf9}
.where{font-size:.85rem;color:#555}
</style></head><body>
<h1>qa eval: {{ title }}</h1>
<p class="muted">{{ when }}; {{ report.summary.questions }} questions
({{ report.summary.answerable }} answerable, {{ report.summary.unanswerable }} not).</p>
<h2>Summary</h2>
<table><tr><th>metric</th><th>qa</th>{% if base %}<th>baseline</th>{% endif %}</tr>
{% for name, ours, theirs in rows %}<tr><td>{{ name }}</td><td>{{ ours }}</td>
{% if base %}<td>{{ theirs }}</td>{% endif %}</tr>
{% endfor %}</table>
<div class="charts">
{% for chart in charts %}<figure><figcaption>{{ chart.title }}</figcaption>
<svg width="{{ chart.width }}" height="{{ chart.height }}" role="img"
 aria-label="{{ chart.title }}">
{% for bar in chart.bars %}
<text x="0" y="{{ bar.y + 14 }}" font-size="13">{{ bar.label }}</text>
<rect x="{{ chart.left }}" y="{{ bar.y }}" width="{{ bar.length }}" height="18"
 fill="{{ bar.color }}"></rect>
<text x="{{ chart.left + 6 + bar.length }}" y="{{ bar.y + 14 }}"
 font-size="13">{{ bar.value }}</text>
{% endfor %}</svg></figure>
{% endfor %}</div>
<h2>Questions</h2>
{% for r in report.results %}<div class="q">
<h3>{{ r.id or loop.index }}. {{ r.question }}</h3>
<span class="tag {{ verdict_class(r.correct) }}">{{ verdict(r) }}</span>
<span class="muted">{{ "%.2f"|format(r.latency_s) }} s</span>
<p>{{ r.answer }}</p>
{% for c in r.citations %}{% set before, answer, after = excerpt(c, True) %}
<blockquote>“{{ before }}{% if answer %}<mark>{{ answer }}</mark>{% endif %}{{ after }}”
<div class="where">[{{ loop.index }}] {{ c.source }}{{ where(c) }} (chars {{ c.start }}-{{ c.end }})
</div></blockquote>{% endfor %}
{% if base %}{% set b = base.results[loop.index0] %}<details><summary>baseline:
{{ verdict(b) }}</summary><p>{{ b.answer }}</p></details>{% endif %}
</div>
{% endfor %}
</body></html>
"""


def _verdict(result: object) -> str:
    correct = getattr(result, "correct", None)
    abstained = getattr(result, "abstained", False)
    if correct is None:
        return "no gold answer"
    what = "abstained" if abstained else "answered"
    return f"{what}, {'right' if correct else 'wrong'}"


def _verdict_class(correct: bool | None) -> str:
    return "none" if correct is None else "right" if correct else "wrong"


def _charts(ours: EvalSummary, base: EvalSummary | None) -> list[dict[str, object]]:
    """Horizontal bars: shares on a 0-1 scale, then latency in seconds."""
    runs = [("qa", ours, "#1565c0")] + ([("baseline", base, "#9e9e9e")] if base else [])
    shares = _bars(
        runs, {"answer_accuracy": "answer accuracy", "abstention_accuracy": "abstention accuracy"}
    )
    latency = _bars(runs, {"latency_p50_s": "p50", "latency_p95_s": "p95"})
    latest = max(value or 0.0 for _, value, _ in latency)
    return [
        _chart("Accuracy and abstention", shares, 1.0, "{:.0%}"),
        _chart("Latency (s)", latency, latest or 1.0, "{:.2f} s"),
    ]


def _bars(
    runs: list[tuple[str, EvalSummary, str]], metrics: dict[str, str]
) -> list[tuple[str, float | None, str]]:
    """One bar per metric and run, labelled "metric (run)"."""
    return [
        (f"{label} ({name})", getattr(summary, metric), color)
        for metric, label in metrics.items()
        for name, summary, color in runs
    ]


def _chart(
    title: str, values: list[tuple[str, float | None, str]], scale: float, fmt: str
) -> dict[str, object]:
    bars = [
        {
            "label": label,
            "y": 6 + 26 * i,
            "length": round(240 * (value or 0.0) / scale),
            "value": "-" if value is None else fmt.format(value),
            "color": color,
        }
        for i, (label, value, color) in enumerate(values)
    ]
    left = 7 * max(len(label) for label, _, _ in values) + 12  # room for the longest label
    return {
        "title": title,
        "bars": bars,
        "left": left,
        "width": left + 320,
        "height": 12 + 26 * len(bars),
    }


def render_html(report: EvalReport, title: str) -> str:
    """The report as one HTML page."""
    base = report.baseline
    ours = report.summary.model_dump()
    theirs = base.summary.model_dump() if base else {}
    rows = [(name, cell(value), cell(theirs.get(name))) for name, value in ours.items()]
    environment = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    environment.globals.update(
        verdict=_verdict, verdict_class=_verdict_class, where=where, excerpt=excerpt
    )
    return environment.from_string(TEMPLATE).render(
        title=title,
        when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        report=report,
        base=base,
        rows=rows,
        charts=_charts(report.summary, base.summary if base else None),
    )
