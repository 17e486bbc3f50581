# patterdash developer recipes (`just --list`). The README's two commands need no just.

venv := ".venv/bin"

# Start the dashboard on the default SQLite log (./patterdash.db)
serve *ARGS:
    {{venv}}/patterdash serve {{ARGS}}

# The whole test suite, exactly as CI runs it (installs what it needs)
test *ARGS:
    scripts/test {{ARGS}}

# Quick tests only: no browser, no slow
test-fast *ARGS:
    {{venv}}/python -m pytest -q -m "not browser and not slow" {{ARGS}}

# Lint and type-check
lint:
    {{venv}}/ruff check .
    {{venv}}/ruff format --check .
    {{venv}}/mypy

# Apply lint fixes and formatting
fix:
    {{venv}}/ruff check --fix .
    {{venv}}/ruff format .

# Regenerate schemas/ from the pydantic models, and the UI's event-type list from schemas/
schemas:
    {{venv}}/python -m patterdash.schemas
    {{venv}}/python scripts/gen_ui_event_types.py

# Rebuild ui_dist/ from ui/
ui:
    {{venv}}/python scripts/gen_ui_event_types.py
    cd ui && npm ci --no-audit --no-fund && npm run build

# The benchmark suite: the target table first, then docs/performance.md; `just bench --quick` runs in < 4 min
bench *ARGS:
    {{venv}}/python -m bench {{ARGS}}
