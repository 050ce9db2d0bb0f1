import marimo

__generated_with = "0.25.2"
app = marimo.App(app_title="App Two")


@app.cell
def _():
    import marimo as mo
    print("Hello from app2")
    return (mo,)


@app.cell
def _(mo):
    mo.md("app2 says hi")
    return


if __name__ == "__main__":
    app.run()
