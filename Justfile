# Common workflows for those who have `just` (cargo install just, or a package manager); every recipe
# delegates to an npm script or the fairway CLI, so `npm run …` does the same without it.

default:
    @just --list

# Set up everything and materialize the lakehouse on sample data (embedded profile)
quickstart:
    npm run quickstart

# The full test suite (what CI runs)
test:
    npm test

# Unit tests only
unit:
    npm run test:unit

# End-to-end tests only
e2e:
    npm run test:e2e

# Lint and format check
lint:
    npm run lint

# Apply formatting and safe lint fixes
format:
    npm run format

# Install the Python venv and Java jars
bootstrap:
    node bin/fairway.js bootstrap

# Asset status (optionally a selection)
status *args:
    node bin/fairway.js status {{args}}

# Materialize a selection, e.g. `just materialize silver.fact_telemetry_event`
materialize selection *args:
    node bin/fairway.js materialize '{{selection}}' {{args}}

# Run the benchmarks
bench *args:
    npm run bench -- {{args}}
