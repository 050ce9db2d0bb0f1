import marimo

__generated_with = "0.25.2"
app = marimo.App()


@app.cell
def _():
    raise ValueError("deliberate-failure-91c2")
    return


if __name__ == "__main__":
    app.run()
