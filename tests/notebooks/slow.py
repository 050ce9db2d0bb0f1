import marimo

__generated_with = "0.25.2"
app = marimo.App(app_title="Slow")


@app.cell
def _():
    import time

    import marimo as mo

    return mo, time


@app.cell
def _(time):
    time.sleep(1.5)
    return


@app.cell
def _(time):
    time.sleep(1.5)
    return


@app.cell
def _(mo, time):
    time.sleep(1.5)
    mo.md("slow notebook done")
    return


if __name__ == "__main__":
    app.run()
