import marimo

__generated_with = "0.25.2"
app = marimo.App(app_title="Code")


@app.cell
def _():
    import marimo as mo

    return (mo,)


@app.cell
def _(mo):
    mo.md("""# Served with its code

    This notebook is mounted with `include_code=True`: the code of each cell
    can be shown from the page's menu.""")
    return


@app.cell
def _():
    squares = [i * i for i in range(10)]
    squares
    return


if __name__ == "__main__":
    app.run()
