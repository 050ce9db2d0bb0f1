import marimo

__generated_with = "0.25.2"
app = marimo.App()


@app.cell
def _():
    import json

    import marimo as mo

    return json, mo


@app.cell
def _(mo):
    knob = mo.ui.slider(start=0, stop=10, value=3, label="knob")
    knob
    return (knob,)


@app.cell
def _(json, knob, mo):
    request = mo.app_meta().request
    report = {
        "knob": knob.value,
        "path": request.url["path"],
        "query": request.url["query"],
        "query_params": dict(request.query_params),
        "path_params": dict(request.path_params),
        "user": request.user,
        "meta": request.meta,
        "has_cookie_header": "cookie" in request.headers,
        "cookies": sorted(request.cookies),
        "mo_query_params": {k: mo.query_params().get_all(k) for k in mo.query_params()},
    }
    mo.Html("<pre class='meta-report'>" + json.dumps(report, sort_keys=True) + "</pre>")
    return


if __name__ == "__main__":
    app.run()
