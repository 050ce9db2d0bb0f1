import marimo

__generated_with = "0.25.2"
app = marimo.App(app_title="Who am I")


@app.cell
def _():
    import marimo as mo

    return (mo,)


@app.cell
def _(mo):
    request = mo.app_meta().request
    user = request.user if request else {}
    name = user.get("display_name") or "stranger"
    mo.md(
        f"""
        # Hello, {name}!

        Username: `{user.get("username", "")}` ·
        staff: `{user.get("is_staff")}` ·
        groups: `{", ".join(user.get("groups", []))}`

        You opened `{request.url["path"] if request else "?"}`.
        """
    )
    return (request,)


@app.cell
def _(request):
    request
    return


if __name__ == "__main__":
    app.run()
