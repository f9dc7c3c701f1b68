"""marshmallow 4 schemas of the HTTP contract, one module per resource."""
