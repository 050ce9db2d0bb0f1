import marimo

__generated_with = "0.25.2"
app = marimo.App(app_title="Items")


@app.cell
def _():
    import datetime

    import marimo as mo

    return datetime, mo


@app.cell
def _(datetime):
    # Sample data; a real notebook would query the database here.
    start = datetime.date(2024, 1, 1)
    colours = ["red", "green", "blue"]
    items = [
        {
            "id": n,
            "name": f"item {n}",
            "tag": colours[n % 3],
            "created_at": str(start + datetime.timedelta(days=n)),
            "updated_at": str(start + datetime.timedelta(days=(n * 7) % 50)),
        }
        for n in range(1, 51)
    ]
    return (items,)


@app.cell
def _(items, mo):
    # The page URL was validated by project/params.py's ItemFilter: every
    # value is present (defaults filled in) and within its bounds.
    params = mo.query_params()
    limit = int(params.get("limit") or 10)
    offset = int(params.get("offset") or 0)
    order_by = params.get("order_by") or "created_at"
    tags = params.get_all("tags")
    rows = [i for i in items if not tags or i["tag"] in tags]
    rows = sorted(rows, key=lambda i: i[order_by])[offset : offset + limit]
    mo.vstack(
        [
            mo.md(
                f"# Items\n\n`limit={limit}` `offset={offset}` `order_by={order_by}` "
                f"`tags={tags}`: {len(rows)} shown. Try "
                "[?limit=5&tags=red&tags=blue](?limit=5&tags=red&tags=blue) or "
                "[?limit=500](?limit=500)."
            ),
            mo.ui.table(rows, selection=None),
        ]
    )
    return


if __name__ == "__main__":
    app.run()
