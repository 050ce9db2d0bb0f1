import marimo

__generated_with = "0.25.2"
app = marimo.App(app_title="Isolation")


@app.cell
def _():
    import os

    import marimo as mo

    return mo, os


@app.cell
def _(mo, os):
    mo.md(f"kernel pid {os.getpid()}")
    return


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
    fault = mo.ui.dropdown(["none", "spin", "stubborn", "alloc", "exit"], value="none", label="fault")
    fault
    return (fault,)


@app.cell
def _(fault, mo, os):
    if fault.value == "spin":
        while True:
            pass
    while fault.value == "stubborn":  # ignores the interrupt: only a kill ends it
        try:
            while True:
                pass
        except KeyboardInterrupt:
            pass
    if fault.value == "alloc":
        _block = b"x" * (1 << 30)  # 1 GiB, every page touched
    if fault.value == "exit":
        os._exit(3)
    mo.md(f"fault {fault.value} done")
    return
