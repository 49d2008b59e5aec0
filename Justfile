# Common workflows; run with `npx just <recipe>` (the npm-distributed `just`, no system install).
# Every recipe delegates to an npm script or the fairway CLI.

default:
    @npx just --list

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

# Materialize a selection, e.g. `npx just materialize silver.fact_telemetry_event`
materialize selection *args:
    node bin/fairway.js materialize '{{selection}}' {{args}}

# Run the benchmarks
bench *args:
    npm run bench -- {{args}}
