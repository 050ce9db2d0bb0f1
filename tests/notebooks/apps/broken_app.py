import marimo

app = marimo.App(

@app.cell
def _():
    return
