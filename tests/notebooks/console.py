import marimo

__generated_with = "0.25.2"
app = marimo.App()


@app.cell
def _():
    print("console-marker-7d1f")
    return


if __name__ == "__main__":
    app.run()
