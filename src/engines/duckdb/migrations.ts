/**
 * Versioned schema of the embedded DuckDB database. A migration is applied once, in order, inside a
 * transaction, and recorded in `schema_migrations`; never edit one that has shipped: add the next.
 *
 * Events carry extracted hot columns beside the raw JSON; `compact()` re-sorts them by
 * (workspace, profile, time) so DuckDB's zone maps make per-profile scans cheap.
 */
export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'workspaces, credentials, events, identity graph, traits',
    statements: [
      `CREATE TABLE workspaces (
         id VARCHAR PRIMARY KEY,
         name VARCHAR NOT NULL,
         created_at TIMESTAMPTZ NOT NULL
       )`,
      `CREATE TABLE credentials (
         hash VARCHAR PRIMARY KEY,
         kind VARCHAR NOT NULL,
         workspace_id VARCHAR NOT NULL,
         role VARCHAR,
         label VARCHAR NOT NULL,
         created_at TIMESTAMPTZ NOT NULL,
         revoked_at TIMESTAMPTZ
       )`,
      `CREATE TABLE events (
         workspace_id VARCHAR NOT NULL,
         message_id VARCHAR NOT NULL,
         type VARCHAR NOT NULL,
         event VARCHAR,
         event_original VARCHAR,
         name VARCHAR,
         profile_id VARCHAR NOT NULL,
         user_id VARCHAR,
         anonymous_id VARCHAR,
         group_id VARCHAR,
         previous_id VARCHAR,
         timestamp TIMESTAMPTZ NOT NULL,
         received_at TIMESTAMPTZ NOT NULL,
         sent_at TIMESTAMPTZ,
         original_timestamp TIMESTAMPTZ,
         source VARCHAR NOT NULL,
         properties JSON,
         context JSON,
         traits JSON,
         integrations JSON,
         revenue DOUBLE,
         total DOUBLE,
         order_id VARCHAR,
         currency VARCHAR,
         coupon VARCHAR,
         discount DOUBLE,
         quantity DOUBLE,
         product_ids VARCHAR[],
         categories VARCHAR[],
         brands VARCHAR[],
         page_url VARCHAR,
         page_path VARCHAR,
         referrer VARCHAR,
         campaign_name VARCHAR,
         campaign_source VARCHAR,
         campaign_medium VARCHAR,
         campaign_term VARCHAR,
         campaign_content VARCHAR,
         ip VARCHAR,
         user_agent VARCHAR,
         browser VARCHAR,
         browser_version VARCHAR,
         os VARCHAR,
         os_version VARCHAR,
         device_type VARCHAR,
         device_vendor VARCHAR,
         device_model VARCHAR,
         country VARCHAR,
         region VARCHAR,
         city VARCHAR,
         locale VARCHAR,
         timezone VARCHAR
       )`,
      `CREATE TABLE profiles (
         workspace_id VARCHAR NOT NULL,
         profile_id VARCHAR NOT NULL,
         created_at TIMESTAMPTZ NOT NULL,
         merged_into VARCHAR
       )`,
      `CREATE TABLE identities (
         workspace_id VARCHAR NOT NULL,
         type VARCHAR NOT NULL,
         value VARCHAR NOT NULL,
         profile_id VARCHAR NOT NULL,
         first_seen TIMESTAMPTZ NOT NULL,
         source VARCHAR NOT NULL
       )`,
      `CREATE TABLE merges (
         workspace_id VARCHAR NOT NULL,
         from_profile VARCHAR NOT NULL,
         to_profile VARCHAR NOT NULL,
         reason VARCHAR NOT NULL,
         message_id VARCHAR NOT NULL,
         merged_at TIMESTAMPTZ NOT NULL
       )`,
      `CREATE TABLE trait_updates (
         workspace_id VARCHAR NOT NULL,
         entity_type VARCHAR NOT NULL,
         entity_id VARCHAR NOT NULL,
         key VARCHAR NOT NULL,
         value JSON,
         source VARCHAR NOT NULL,
         message_id VARCHAR NOT NULL,
         updated_at TIMESTAMPTZ NOT NULL
       )`,
      `CREATE TABLE identity_drops (
         workspace_id VARCHAR NOT NULL,
         message_id VARCHAR NOT NULL,
         type VARCHAR NOT NULL,
         value VARCHAR NOT NULL,
         reason VARCHAR NOT NULL,
         dropped_at TIMESTAMPTZ NOT NULL
       )`,
      // Current traits: the latest value per key, with its provenance.
      `CREATE VIEW traits AS
         SELECT workspace_id, entity_type, entity_id, key,
                arg_max(value, updated_at) AS value, arg_max(source, updated_at) AS source,
                arg_max(message_id, updated_at) AS message_id, max(updated_at) AS updated_at
         FROM trait_updates GROUP BY ALL`,
    ],
  },
  {
    version: 2,
    name: 'segments, versions, memberships and history, computed traits, scores, runs',
    statements: [
      `CREATE TABLE scores (
         workspace_id VARCHAR NOT NULL,
         profile_id VARCHAR NOT NULL,
         model VARCHAR NOT NULL,
         score DOUBLE NOT NULL,
         scored_at TIMESTAMPTZ NOT NULL
       )`,
      // One row per version; the current definition is the highest version. Archiving is a status change.
      `CREATE TABLE segment_versions (
         workspace_id VARCHAR NOT NULL,
         kind VARCHAR NOT NULL,
         key VARCHAR NOT NULL,
         version INTEGER NOT NULL,
         name VARCHAR NOT NULL,
         description VARCHAR,
         definition JSON NOT NULL,
         status VARCHAR NOT NULL,
         created_at TIMESTAMPTZ NOT NULL,
         PRIMARY KEY (workspace_id, kind, key, version)
       )`,
      `CREATE TABLE memberships (
         workspace_id VARCHAR NOT NULL,
         segment_key VARCHAR NOT NULL,
         profile_id VARCHAR NOT NULL,
         entered_at TIMESTAMPTZ NOT NULL,
         version INTEGER NOT NULL
       )`,
      `CREATE SEQUENCE membership_seq`,
      `CREATE TABLE membership_history (
         seq BIGINT NOT NULL DEFAULT nextval('membership_seq'),
         workspace_id VARCHAR NOT NULL,
         segment_key VARCHAR NOT NULL,
         profile_id VARCHAR NOT NULL,
         change VARCHAR NOT NULL,
         changed_at TIMESTAMPTZ NOT NULL,
         version INTEGER NOT NULL
       )`,
      `CREATE TABLE computed_values (
         workspace_id VARCHAR NOT NULL,
         key VARCHAR NOT NULL,
         profile_id VARCHAR NOT NULL,
         value JSON,
         computed_at TIMESTAMPTZ NOT NULL
       )`,
      `CREATE TABLE segment_runs (
         workspace_id VARCHAR NOT NULL,
         kind VARCHAR NOT NULL,
         key VARCHAR NOT NULL,
         version INTEGER NOT NULL,
         mode VARCHAR NOT NULL,
         started_at TIMESTAMPTZ NOT NULL,
         duration_ms DOUBLE NOT NULL,
         rows_read BIGINT NOT NULL,
         members BIGINT,
         entered BIGINT,
         exited BIGINT,
         error VARCHAR
       )`,
      `CREATE TABLE segment_sizes (
         workspace_id VARCHAR NOT NULL,
         segment_key VARCHAR NOT NULL,
         day DATE NOT NULL,
         members BIGINT NOT NULL,
         PRIMARY KEY (workspace_id, segment_key, day)
       )`,
    ],
  },
  {
    version: 3,
    name: 'webhook subscriptions for segment entries and exits, delivery log',
    statements: [
      // The signing secret is kept (it signs each delivery, like Stripe's whsec); it grants no access.
      `CREATE TABLE webhooks (
         workspace_id VARCHAR NOT NULL,
         id VARCHAR NOT NULL,
         url VARCHAR NOT NULL,
         secret VARCHAR NOT NULL,
         segments VARCHAR[],
         created_at TIMESTAMPTZ NOT NULL,
         deleted_at TIMESTAMPTZ,
         cursor BIGINT NOT NULL,
         pending_to BIGINT,
         attempts INTEGER NOT NULL DEFAULT 0,
         next_attempt_at TIMESTAMPTZ,
         last_status INTEGER,
         last_error VARCHAR,
         delivered BIGINT NOT NULL DEFAULT 0,
         PRIMARY KEY (workspace_id, id)
       )`,
    ],
  },
  {
    version: 4,
    name: 'event commit sequence and per-profile segment state (incremental evaluation from new events only)',
    statements: [
      // seq: the order events were committed in (one writer, so commit order). Older rows keep NULL:
      // they precede every state built after this migration.
      `CREATE SEQUENCE event_seq`,
      `ALTER TABLE events ADD COLUMN seq BIGINT`,
      `ALTER TABLE events ALTER COLUMN seq SET DEFAULT nextval('event_seq')`,
      // Which state table a workspace's incremental runs read, built from which definitions and up to
      // which event seq (segment-store.ts).
      `CREATE TABLE segment_state_meta (
         workspace_id VARCHAR PRIMARY KEY,
         table_name VARCHAR NOT NULL,
         signature VARCHAR NOT NULL,
         built_seq BIGINT NOT NULL,
         built_at TIMESTAMPTZ NOT NULL
       )`,
    ],
  },
  {
    version: 5,
    name: 'typed property columns (paths segments read, kept typed beside the JSON)',
    statements: [
      // One row per path with typed columns on events (typed-columns.ts); ready once every older event
      // has been back-filled (newer ones are filled at ingest from the moment the row exists).
      `CREATE TABLE property_columns (
         base VARCHAR PRIMARY KEY,
         root VARCHAR NOT NULL,
         path VARCHAR NOT NULL,
         ready BOOLEAN NOT NULL,
         created_at TIMESTAMPTZ NOT NULL
       )`,
    ],
  },
  {
    version: 6,
    name: 'model runs (behavioural models and, later, statistical models: registry of fits and their summaries)',
    statements: [
      // One row per run of a model: its configuration, the time it describes (as_of), what it found
      // (summary: counts per group, score distributions, movement since the previous run) and its error.
      `CREATE TABLE model_runs (
         workspace_id VARCHAR NOT NULL,
         model VARCHAR NOT NULL,
         run_id VARCHAR NOT NULL,
         as_of TIMESTAMPTZ NOT NULL,
         config JSON NOT NULL,
         summary JSON,
         profiles BIGINT NOT NULL,
         started_at TIMESTAMPTZ NOT NULL,
         duration_ms BIGINT NOT NULL,
         error VARCHAR,
         PRIMARY KEY (workspace_id, run_id)
       )`,
    ],
  },
  {
    version: 7,
    name: 'model outputs as one row per profile and model (not one trait update per value)',
    statements: [
      // A model run's traits for a profile, as one JSON object: a run over 1M profiles writes 1M rows
      // instead of ~10M trait updates. Segments and profile reads see them as traits (source model:<id>);
      // the latest value of a key wins between these and trait updates.
      `CREATE TABLE model_traits (
         workspace_id VARCHAR NOT NULL,
         model VARCHAR NOT NULL,
         profile_id VARCHAR NOT NULL,
         run_id VARCHAR NOT NULL,
         computed_at TIMESTAMPTZ NOT NULL,
         traits JSON NOT NULL
       )`,
    ],
  },
  {
    version: 8,
    name: 'statistical model registry (every fit a version: config, training window, fitted parameters, metrics), protected traits',
    statements: [
      // One row per fit. The newest successful version of a name is the active one; its outputs are in
      // model_traits (model 'ml:<name>') and its main score in scores (model '<name>').
      `CREATE TABLE ml_models (
         workspace_id VARCHAR NOT NULL,
         name VARCHAR NOT NULL,
         version INTEGER NOT NULL,
         kind VARCHAR NOT NULL,
         config JSON NOT NULL,
         training JSON,
         artifact JSON,
         metrics JSON,
         traits JSON NOT NULL,
         started_at TIMESTAMPTZ NOT NULL,
         duration_ms BIGINT NOT NULL,
         error VARCHAR,
         PRIMARY KEY (workspace_id, name, version)
       )`,
      // Traits marked protected (age, gender, …): fairness reports group by them; models and segments
      // marked "no protected attributes" refuse them.
      `CREATE TABLE protected_traits (
         workspace_id VARCHAR NOT NULL,
         key VARCHAR NOT NULL,
         PRIMARY KEY (workspace_id, key)
       )`,
      // Segments marked "no protected attributes": their definitions (and those they refer to) may not use protected traits.
      `CREATE TABLE guarded_segments (
         workspace_id VARCHAR NOT NULL,
         key VARCHAR NOT NULL,
         PRIMARY KEY (workspace_id, key)
       )`,
    ],
  },
  {
    version: 9,
    name: 'events.seq without a default: ingest supplies nextval itself (a crash after ADD COLUMN left a WAL DuckDB could not replay)',
    statements: [
      // DuckDB 1.5.x cannot replay `ALTER TABLE events ADD COLUMN` (typed property columns) while a
      // column of events has a `nextval` default: the replay fails binding it ("no default database
      // set") and the database does not open. Reproduced with SIGKILL after an ALTER; without the
      // default the same WAL replays. Every insert into events names seq (duckdb-engine.ts).
      `ALTER TABLE events ALTER COLUMN seq DROP DEFAULT`,
    ],
  },
];
