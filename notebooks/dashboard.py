import marimo

__generated_with = "0.25.2"
app = marimo.App(app_title="Dashboard")


@app.cell
def _():
    import math

    import marimo as mo

    return math, mo


@app.cell
def _(mo):
    mo.md("""# Dashboard""")
    return


@app.cell
def _(mo):
    points = mo.ui.slider(start=1, stop=40, value=10, label="Points")
    points
    return (points,)


@app.cell
def _(math, mo, points):
    n = points.value
    values = [round(50 + 45 * math.sin(i / 3), 1) for i in range(n)]
    width = 12
    bars = "".join(
        f'<rect x="{i * (width + 2)}" y="{100 - v}" width="{width}" height="{v}" '
        f'fill="#3b82f6"><title>{v}</title></rect>'
        for i, v in enumerate(values)
    )
    chart = mo.Html(
        f'<svg id="chart" data-points="{n}" width="{n * (width + 2)}" height="100" '
        f'role="img" aria-label="bar chart of {n} points">{bars}</svg>'
    )
    mo.vstack([mo.md(f"**{n} points**, total {sum(values):.1f}"), chart])
    return


if __name__ == "__main__":
    app.run()
