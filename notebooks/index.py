import marimo

__generated_with = "0.25.2"
app = marimo.App(app_title="notebook_host demo")


@app.cell
def _():
    import marimo as mo

    return (mo,)


@app.cell
def _(mo):
    user = mo.app_meta().request.user or {}
    who = user.get("username") if user.get("is_authenticated") else None
    greeting = f"Signed in as **{who}**." if who else "You are not signed in."
    mo.md(
        f"""
        # notebook_host demo

        {greeting}

        - [Dashboard](/dashboard/): a slider driving a chart
        - [Who am I](/whoami/): what `mo.app_meta().request` shows
        - [Items](/items/?limit=5&tags=red&tags=blue): query parameters checked by a form
          ([OpenAPI](/notebooks/openapi.json))
        - [Code](/code/): a notebook served with its code (staff only)
        - [Sign in](/accounts/login/) · [Admin](/admin/)
        """
    )
    return


if __name__ == "__main__":
    app.run()
