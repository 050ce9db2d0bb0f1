import marimo

__generated_with = "0.25.2"
app = marimo.App(app_title="App One")


@app.cell
def _():
    import marimo as mo
    print("Hello from app1")
    return (mo,)


@app.cell
def _(mo):
    mo.md("app1 says hi")
    return


if __name__ == "__main__":
    app.run()
