"""The default numbers of each exercise, one YAML file per exercise, installed as the package
xlhand.templates (see pyproject.toml) and read with importlib.resources."""
