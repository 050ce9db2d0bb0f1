import marimo

__generated_with = "0.25.2"
app = marimo.App(app_title="Faults")


@app.cell
def _():
    import time

    import marimo as mo

    return mo, time


@app.cell
def _(mo):
    knob = mo.ui.slider(0, 1000, label="knob")
    knob
    return (knob,)


@app.cell
def _(knob, mo):
    mo.md(f"knob is {knob.value}")
    return


@app.cell
def _(mo):
    spin = mo.ui.number(0, 120, label="spin seconds")
    spin
    return (spin,)


@app.cell
def _(mo, spin, time):
    # A cell stuck in a busy loop (pure Python, holding the GIL between switches).
    _end = time.monotonic() + spin.value
    _n = 0
    while time.monotonic() < _end:
        _n += 1
    mo.md(f"spun {spin.value} s")
    return


@app.cell
def _(mo):
    boom = mo.ui.number(0, 10, label="boom")
    boom
    return (boom,)


@app.cell
def _(boom, mo):
    if boom.value:
        raise ValueError(f"boom-on-demand-{boom.value}")
    mo.md("no boom")
    return


@app.cell
def _(mo):
    mo.download(data=b"0123456789" * 500_000, filename="big.bin", label="big download")
    return


if __name__ == "__main__":
    app.run()
