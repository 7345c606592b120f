"""Use cases: one class per business action, each stating its rule in its docstring."""
