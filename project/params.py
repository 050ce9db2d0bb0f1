"""Query parameter forms of the demo notebooks."""

from django import forms

TAGS = [("red", "red"), ("green", "green"), ("blue", "blue")]


class ItemFilter(forms.Form):
    """``/items/?limit=5&tags=red&tags=blue``: what notebooks/items.py lists."""

    limit = forms.IntegerField(
        min_value=1, max_value=100, initial=10, required=False, help_text="Items per page."
    )
    offset = forms.IntegerField(min_value=0, initial=0, required=False, help_text="Items to skip.")
    order_by = forms.ChoiceField(
        choices=[("created_at", "created_at"), ("updated_at", "updated_at")],
        initial="created_at",
        required=False,
        help_text="Sort key.",
    )
    tags = forms.MultipleChoiceField(
        choices=TAGS, required=False, help_text="Only items with one of these tags."
    )
