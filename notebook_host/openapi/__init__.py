"""The OpenAPI document of the notebook routes, and the form field -> schema mapping."""
