"""Built-in value formats: one module per library, each with ``write(value, path)`` and
``read(path)``, imported only when a value of its type is saved or a file of its format loaded."""
