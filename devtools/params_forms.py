"""The parameter declarations the tests route: one form, one Pydantic model."""

from __future__ import annotations

from typing import Literal

from django import forms
from pydantic import BaseModel, Field

TAGS = [("a", "a"), ("b", "b"), ("c", "c")]


class ItemFilter(forms.Form):
    limit = forms.IntegerField(
        min_value=1, max_value=100, initial=100, required=False, help_text="Rows per page."
    )
    offset = forms.IntegerField(min_value=0, initial=0, required=False)
    order_by = forms.ChoiceField(
        choices=[("created_at",) * 2, ("updated_at",) * 2], initial="created_at", required=False
    )
    tags = forms.MultipleChoiceField(choices=TAGS, required=False, help_text="Any of a, b, c.")


class ItemModel(BaseModel):
    limit: int = Field(100, ge=1, le=100, description="Rows per page.")
    offset: int = Field(0, ge=0)
    order_by: Literal["created_at", "updated_at"] = "created_at"
    tags: list[Literal["a", "b", "c"]] = []


class Region(forms.Form):
    region = forms.ChoiceField(choices=[("north",) * 2, ("south",) * 2], initial="north")
