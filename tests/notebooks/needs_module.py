import marimo

__generated_with = "0.25.2"
app = marimo.App(app_title="Needs a module")


@app.cell
def _():
    import marimo as mo

    try:
        import notebook_host_optional_module  # guarded: never reported
    except ImportError:
        notebook_host_optional_module = None
    return (mo,)


@app.cell
def _(mo):
    import notebook_host_no_such_module

    mo.md(notebook_host_no_such_module.greeting)
    return


if __name__ == "__main__":
    app.run()
