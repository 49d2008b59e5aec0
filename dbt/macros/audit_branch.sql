{#- Write-audit-publish (docs/learning/iceberg_basics.md): the Silver job writes a run's rows to an Iceberg
    branch of each Silver table (audit_<run id>), and Fairway's gate runs this project's source tests and
    freshness with FAIRWAY_AUDIT_BRANCH naming it. Then every Silver source reads that branch
    (`<table> FOR VERSION AS OF '<branch>'`: Spark SQL, Trino), so the tests see exactly what publishing
    would show readers; Gold builds (no variable set) read main. The variable is read at execution only
    (`execute`), so parsing and the manifest never depend on it. -#}
{% macro source(source_name, table_name) %}
  {% do return(fairway_audited(builtins.source(source_name, table_name))) %}
{% endmacro %}

{% macro fairway_audited(relation) %}
  {% if execute and relation.schema == var('silver_schema') %}
    {% set branch = env_var('FAIRWAY_AUDIT_BRANCH', '') %}
    {% if branch %}
      {% if not modules.re.match('^audit_[a-z0-9_]+$', branch) %}
        {% do exceptions.raise_compiler_error("FAIRWAY_AUDIT_BRANCH must be audit_<run id>, got '" ~ branch ~ "'") %}
      {% endif %}
      {% do return(adapter.dispatch('fairway_version_as_of')(relation, branch)) %}
    {% endif %}
  {% endif %}
  {% do return(relation) %}
{% endmacro %}

{% macro default__fairway_version_as_of(relation, branch) %}
  {% do return(relation ~ " for version as of '" ~ branch ~ "'") %}
{% endmacro %}

{#- Athena's time travel takes snapshot ids, not branch names: the gate passes each table's branch head in
    FAIRWAY_AUDIT_SNAPSHOTS ({"fact_telemetry_event": 123, ...}; assets/lib/wap.ts). -#}
{% macro athena__fairway_version_as_of(relation, branch) %}
  {% set snapshot = fromjson(env_var('FAIRWAY_AUDIT_SNAPSHOTS', '{}')).get(relation.identifier) %}
  {% if not snapshot %}
    {% do exceptions.raise_compiler_error("FAIRWAY_AUDIT_SNAPSHOTS has no snapshot of " ~ relation.identifier ~ " on audit branch '" ~ branch ~ "' (Athena time travel takes snapshot ids, not branch names)") %}
  {% endif %}
  {% do return(relation ~ " for version as of " ~ snapshot) %}
{% endmacro %}
