"""YAML -> validated models, with file:line:col on every error."""
