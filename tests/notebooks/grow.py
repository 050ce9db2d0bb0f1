import marimo

__generated_with = "0.25.2"
app = marimo.App(app_title="Growing")


@app.cell
def _():
    import marimo as mo

    return (mo,)


@app.cell
def _(mo):
    lines = mo.ui.slider(start=1, stop=30, value=2, label="lines")
    lines
    return (lines,)


@app.cell
def _(lines, mo):
    mo.Html(
        "<div id='grown' data-lines='%d'>%s</div>"
        % (lines.value, "".join(f"<p>line {i}</p>" for i in range(lines.value)))
    )
    return


if __name__ == "__main__":
    app.run()
