/**
 * ClickHouse schema of the scale-out engine (events, identity graph, traits, scores): the same tables
 * and column names as the DuckDB engine, so one compiled segment plan runs on both. Events are ordered
 * by (workspace, profile, time) for per-profile scans. JSON documents are kept as String and read with
 * JSONExtract* (see sql/dialects.ts). Tested on chdb (ClickHouse as an npm package).
 */
export const CLICKHOUSE_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS events (
     workspace_id String, message_id String, type LowCardinality(String), event Nullable(String), name Nullable(String),
     profile_id String, user_id Nullable(String), anonymous_id Nullable(String),
     timestamp DateTime64(3, 'UTC'), received_at DateTime64(3, 'UTC'), source LowCardinality(String),
     properties String, context String, traits String, seq Nullable(Int64)
   ) ENGINE = MergeTree ORDER BY (workspace_id, profile_id, timestamp)`,
  `CREATE TABLE IF NOT EXISTS profiles (
     workspace_id String, profile_id String, created_at DateTime64(3, 'UTC'), merged_into Nullable(String)
   ) ENGINE = MergeTree ORDER BY (workspace_id, profile_id)`,
  `CREATE TABLE IF NOT EXISTS trait_updates (
     workspace_id String, entity_type LowCardinality(String), entity_id String, key String, value String,
     source String, message_id String, updated_at DateTime64(3, 'UTC')
   ) ENGINE = MergeTree ORDER BY (workspace_id, entity_type, entity_id, key, updated_at)`,
  `CREATE VIEW IF NOT EXISTS traits AS
     SELECT workspace_id, entity_type, entity_id, key, argMax(value, u) AS value,
            argMax(source, u) AS source, max(u) AS updated_at
     FROM (SELECT workspace_id, entity_type, entity_id, key, value, source, updated_at AS u FROM trait_updates)
     GROUP BY workspace_id, entity_type, entity_id, key`,
  `CREATE TABLE IF NOT EXISTS model_traits (
     workspace_id String, model LowCardinality(String), profile_id String, run_id String,
     computed_at DateTime64(3, 'UTC'), traits String
   ) ENGINE = MergeTree ORDER BY (workspace_id, model, profile_id)`,
  `CREATE TABLE IF NOT EXISTS scores (
     workspace_id String, profile_id String, model String, score Float64, scored_at DateTime64(3, 'UTC')
   ) ENGINE = MergeTree ORDER BY (workspace_id, model, profile_id)`,
];
