import marimo

__generated_with = "0.25.2"
app = marimo.App(app_title="Frames")


@app.cell
def _():
    import marimo as mo

    return (mo,)


@app.cell
def _(mo):
    # In a server, mo.iframe serves its HTML as ./@file/... and frames it.
    mo.iframe("<p id='inside'>inside the frame</p>", height="80px")
    return


if __name__ == "__main__":
    app.run()
