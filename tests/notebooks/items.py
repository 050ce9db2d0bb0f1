import marimo

__generated_with = "0.25.2"
app = marimo.App(app_title="Items")


@app.cell
def _():
    import json

    import marimo as mo

    return json, mo


@app.cell
def _(json, mo):
    request = mo.app_meta().request
    report = {
        "mo_query_params": {k: mo.query_params().get_all(k) for k in mo.query_params()},
        "request_query_params": dict(request.query_params),
        "query": request.url["query"],
    }
    mo.Html("<pre class='items-report'>" + json.dumps(report, sort_keys=True) + "</pre>")
    return


if __name__ == "__main__":
    app.run()
