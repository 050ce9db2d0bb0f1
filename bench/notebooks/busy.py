import marimo

__generated_with = "0.25.2"
app = marimo.App(app_title="Busy loop")


@app.cell
def _():
    import time

    import marimo as mo

    return mo, time


@app.cell
def _(mo):
    spin = mo.ui.slider(start=0, stop=60, value=0, label="Spin seconds")
    spin
    return (spin,)


@app.cell
def _(mo, spin, time):
    # Pure Python on the kernel's thread: it holds the GIL as a runaway cell does.
    end = time.monotonic() + spin.value
    turns = 0
    while time.monotonic() < end:
        turns += 1
    mo.md(f"spun {spin.value} s")
    return


if __name__ == "__main__":
    app.run()
