import marimo

__generated_with = "0.25.2"
app = marimo.App(app_title="Nested App")


@app.cell
def _():
    import marimo as mo
    return (mo,)


@app.cell
def _(mo):
    mo.md("nested-app-output")
    return


if __name__ == "__main__":
    app.run()
