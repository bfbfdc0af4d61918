// Schema migrations, applied in order at start and by `npm run cli -- migrate`.
// Each entry runs once, in one transaction, under an advisory lock so that several processes
// starting together against one PostgreSQL do not race.
import type { Database } from './database.ts';

const migrations: { id: string; sql: string }[] = [
  {
    id: '001-resources',
    sql: `
      -- Every version of every resource, deletes included (content NULL). seq is the global write
      -- order: history is paged on it, so pages stay put while new versions arrive.
      CREATE TABLE resource_version (
        seq bigserial PRIMARY KEY,
        resource_type text NOT NULL,
        id text NOT NULL,
        version_id integer NOT NULL,
        last_updated timestamptz NOT NULL,
        deleted boolean NOT NULL,
        content jsonb,
        UNIQUE (resource_type, id, version_id)
      );
      CREATE INDEX resource_version_type_seq ON resource_version (resource_type, seq);

      -- The current version of each resource; reads and searches use this table.
      CREATE TABLE resource (
        resource_type text NOT NULL,
        id text NOT NULL,
        version_id integer NOT NULL,
        last_updated timestamptz NOT NULL,
        deleted boolean NOT NULL,
        content jsonb,
        PRIMARY KEY (resource_type, id)
      );
      CREATE INDEX resource_type_last_updated ON resource (resource_type, last_updated, id);
      CREATE INDEX resource_identifier ON resource USING gin ((content -> 'identifier') jsonb_path_ops);
    `,
  },
  {
    id: '002-clients-and-keys',
    sql: `
      CREATE TABLE client (
        client_id text PRIMARY KEY,
        name text NOT NULL,
        role text NOT NULL,
        organization text NOT NULL,
        purposes text[] NOT NULL,
        secret_hash text NOT NULL,
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      -- Token signing keys, shared by every server process so tokens survive restarts and load balancing.
      CREATE TABLE signing_key (
        kid text PRIMARY KEY,
        private_jwk jsonb NOT NULL,
        public_jwk jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    id: '003-search-index',
    sql: `
      -- Search index rows of current versions, one table per parameter type, replaced at each write
      -- in the same transaction (src/store/search-index.ts). code is the search parameter's code.
      CREATE TABLE search_token (
        resource_type text NOT NULL, id text NOT NULL, code text NOT NULL,
        system text, value text, text text, type_system text, type_code text
      );
      CREATE INDEX search_token_value ON search_token (resource_type, code, value, system);
      CREATE INDEX search_token_system ON search_token (resource_type, code, system);
      CREATE INDEX search_token_resource ON search_token (resource_type, id);

      CREATE TABLE search_string (
        resource_type text NOT NULL, id text NOT NULL, code text NOT NULL, value text NOT NULL, exact text NOT NULL
      );
      CREATE INDEX search_string_value ON search_string (resource_type, code, value text_pattern_ops);
      CREATE INDEX search_string_resource ON search_string (resource_type, id);

      CREATE TABLE search_date (
        resource_type text NOT NULL, id text NOT NULL, code text NOT NULL, low timestamptz NOT NULL, high timestamptz NOT NULL
      );
      CREATE INDEX search_date_low ON search_date (resource_type, code, low);
      CREATE INDEX search_date_high ON search_date (resource_type, code, high);
      CREATE INDEX search_date_resource ON search_date (resource_type, id);

      CREATE TABLE search_number (
        resource_type text NOT NULL, id text NOT NULL, code text NOT NULL, low numeric NOT NULL, high numeric NOT NULL
      );
      CREATE INDEX search_number_low ON search_number (resource_type, code, low);
      CREATE INDEX search_number_resource ON search_number (resource_type, id);

      CREATE TABLE search_quantity (
        resource_type text NOT NULL, id text NOT NULL, code text NOT NULL,
        system text, unit_code text, unit text, low numeric NOT NULL, high numeric NOT NULL
      );
      CREATE INDEX search_quantity_low ON search_quantity (resource_type, code, low);
      CREATE INDEX search_quantity_resource ON search_quantity (resource_type, id);

      CREATE TABLE search_reference (
        resource_type text NOT NULL, id text NOT NULL, code text NOT NULL,
        target_type text, target_id text, url text, identifier_system text, identifier_value text
      );
      CREATE INDEX search_reference_target ON search_reference (resource_type, code, target_id, target_type);
      CREATE INDEX search_reference_reverse ON search_reference (target_type, target_id, resource_type, code);
      CREATE INDEX search_reference_url ON search_reference (resource_type, code, url);
      CREATE INDEX search_reference_identifier ON search_reference (resource_type, code, identifier_value);
      CREATE INDEX search_reference_resource ON search_reference (resource_type, id);

      CREATE TABLE search_uri (
        resource_type text NOT NULL, id text NOT NULL, code text NOT NULL, value text NOT NULL
      );
      CREATE INDEX search_uri_value ON search_uri (resource_type, code, value text_pattern_ops);
      CREATE INDEX search_uri_resource ON search_uri (resource_type, id);

      CREATE TABLE search_composite (
        resource_type text NOT NULL, id text NOT NULL, code text NOT NULL,
        c1_system text, c1_value text, c2_system text, c2_value text,
        c2_number_low numeric, c2_number_high numeric, c2_date_low timestamptz, c2_date_high timestamptz
      );
      CREATE INDEX search_composite_value ON search_composite (resource_type, code, c1_value, c2_value);
      CREATE INDEX search_composite_resource ON search_composite (resource_type, id);

      -- Progress of \`cli reindex\` runs, so an interrupted run resumes where it stopped.
      CREATE TABLE reindex_progress (
        job text PRIMARY KEY, resource_type text NOT NULL, last_id text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    id: '004-search-statistics',
    sql: `
      -- resource_type, code and value are strongly correlated: without these, PostgreSQL multiplies
      -- their selectivities, underestimates common matches (status=requested) by 50x and picks plans
      -- that sort every match instead of walking the primary key until a page is full.
      CREATE STATISTICS search_token_stats (mcv, dependencies) ON resource_type, code, value FROM search_token;
      CREATE STATISTICS search_reference_stats (mcv, dependencies) ON resource_type, code, target_type FROM search_reference;
      CREATE STATISTICS search_string_stats (dependencies) ON resource_type, code FROM search_string;
      CREATE STATISTICS search_date_stats (dependencies) ON resource_type, code FROM search_date;
      CREATE STATISTICS search_uri_stats (mcv, dependencies) ON resource_type, code, value FROM search_uri;
    `,
  },
  {
    id: '005-client-keys',
    sql: `
      -- SMART Backend Services: a client authenticates with a secret or with a key pair (private_key_jwt),
      -- never both, so a leaked secret cannot stand in for a key. Existing clients keep their secret.
      ALTER TABLE client
        ADD COLUMN jwks jsonb NULL,
        ADD COLUMN jwks_url text NULL,
        ADD COLUMN scopes text[] NOT NULL DEFAULT '{system/*.cruds}',
        ALTER COLUMN secret_hash DROP NOT NULL,
        ADD CONSTRAINT client_one_credential CHECK (num_nonnulls(secret_hash, jwks, jwks_url) = 1);
      -- jti values of accepted client assertions until they expire, so an assertion is used once.
      CREATE TABLE client_assertion_jti (
        client_id text NOT NULL,
        jti text NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (client_id, jti)
      );
    `,
  },
  {
    id: '006-resource-authors',
    sql: `
      -- Who wrote each version (the writer's Organization), and who created each resource: a data
      -- source (an HIE) may read back what it submitted. NULL for rows written before this migration.
      ALTER TABLE resource_version ADD COLUMN author text NULL;
      ALTER TABLE resource ADD COLUMN created_by text NULL;
      CREATE INDEX resource_created_by ON resource (created_by, resource_type) WHERE created_by IS NOT NULL;
    `,
  },
  {
    id: '007-policy-epochs',
    sql: `
      -- A counter per resource type that policy decisions depend on, bumped in the same transaction
      -- as every write of that type. Cached decisions carry the epochs they were made under; a new
      -- value becomes visible exactly when the write commits, so a revoked Consent is never served
      -- from a cache after its commit (src/policy/policy-facts-cache.ts).
      CREATE TABLE policy_epoch (kind text PRIMARY KEY, epoch bigint NOT NULL DEFAULT 0);
      INSERT INTO policy_epoch (kind) VALUES ('Consent'), ('Coverage'), ('ServiceRequest'), ('Task');
    `,
  },
  {
    id: '008-outbox',
    sql: `
      -- Transactional outbox (src/queue/outbox.ts): a message is written in the same transaction as
      -- the change that causes it, so a rolled-back change sends nothing; the dispatcher moves each
      -- row to its BullMQ queue once and stamps dispatched_at. attempts counts dispatch tries.
      -- dedupe_key lets a caller enqueue a message at most once (NULLs never conflict).
      CREATE TABLE outbox (
        id bigserial PRIMARY KEY,
        queue text NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        dispatched_at timestamptz NULL,
        attempts integer NOT NULL DEFAULT 0,
        dedupe_key text NULL UNIQUE
      );
      CREATE INDEX outbox_pending ON outbox (id) WHERE dispatched_at IS NULL;

      -- Outbox messages a queue module has processed (src/queue/processed-once.ts), recorded in the
      -- transaction of the module's own database effects: a redelivered job finds its row and skips.
      CREATE TABLE outbox_processed (
        queue text NOT NULL,
        outbox_id bigint NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (queue, outbox_id)
      );
    `,
  },
  {
    id: '009-routing-cursor',
    sql: `
      -- Routing's round-robin position per SDOH need (src/referrals/routing-cursor.ts), shared by every
      -- server process so the rotation continues wherever the next referral is routed.
      CREATE TABLE routing_cursor (key text PRIMARY KEY, last_chosen text NOT NULL);
    `,
  },
  {
    id: '010-subscriptions',
    sql: `
      -- Subscriptions (R5 Backport on R4; src/subscriptions/): per Subscription resource, its topic and
      -- parsed filters, the server-managed status and generation (bumped by each activation), the
      -- subscriber (the client that created it, decided by the policy at each delivery), the next event
      -- seq, the count of delivered events (events-since-subscription-start), consecutive delivery
      -- failures (the next try waits until retry_after) and the delivery lease that keeps one worker at
      -- a time sending its events, in order.
      CREATE TABLE subscription_state (
        id text PRIMARY KEY,
        topic text NOT NULL,
        resource_type text NOT NULL,
        filters jsonb NOT NULL,
        status text NOT NULL,
        generation integer NOT NULL DEFAULT 1,
        end_at timestamptz NULL,
        owner_client_id text NOT NULL,
        owner_role text NOT NULL,
        owner_organization text NOT NULL,
        owner_purpose text NULL,
        owner_scopes text[] NOT NULL DEFAULT '{}',
        next_seq bigint NOT NULL DEFAULT 1,
        events_delivered bigint NOT NULL DEFAULT 0,
        last_sent_at timestamptz NULL,
        failures integer NOT NULL DEFAULT 0,
        retry_after timestamptz NULL,
        lease_token text NULL,
        lease_until timestamptz NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX subscription_state_active ON subscription_state (resource_type) WHERE status = 'active';
      -- Matched events in commit order per subscription (seq); pending until delivered (with the event
      -- number the subscriber saw) or withheld by the policy at send time (never counted).
      CREATE TABLE subscription_event (
        subscription_id text NOT NULL,
        seq bigint NOT NULL,
        resource_type text NOT NULL,
        resource_id text NOT NULL,
        version_id integer NOT NULL,
        interaction text NOT NULL,
        occurred_at timestamptz NOT NULL,
        state text NOT NULL DEFAULT 'pending',
        event_number bigint NULL,
        settled_at timestamptz NULL,
        PRIMARY KEY (subscription_id, seq)
      );
      CREATE INDEX subscription_event_pending ON subscription_event (subscription_id, seq) WHERE state = 'pending';
    `,
  },
  {
    id: '011-hl7-inbox',
    sql: `
      -- HL7 v2 intake (src/hl7/): the sending facilities the hub accepts messages from, and every
      -- accepted message as received (raw text), stored before it is acknowledged. The unique key is
      -- the duplicate key (MSH-3, MSH-4, MSH-10); ack is the ACK sent, resent to a duplicate.
      CREATE TABLE hl7_facility (
        sending_application text NOT NULL,
        sending_facility text NOT NULL,
        organization text NOT NULL,
        message_types text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (sending_application, sending_facility)
      );
      CREATE TABLE hl7_inbox (
        id bigserial PRIMARY KEY,
        sending_application text NOT NULL,
        sending_facility text NOT NULL,
        control_id text NOT NULL,
        message_type text NOT NULL,
        patient_key text NULL,
        raw text NOT NULL,
        ack text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        state text NOT NULL DEFAULT 'received',
        processed_at timestamptz NULL,
        error text NULL,
        resources jsonb NULL,
        UNIQUE (sending_application, sending_facility, control_id)
      );
      -- Processing takes the oldest unprocessed message of a patient first.
      CREATE INDEX hl7_inbox_patient_pending ON hl7_inbox (patient_key, id) WHERE state = 'received';
    `,
  },
  {
    id: '012-bulk-export',
    sql: `
      -- Bulk Data export (src/measures/bulk-export/): one row per kick-off, owned by the client that
      -- made it (actor: the policy context every exported resource is decided under), and the NDJSON
      -- files of its completed run (stored under DATA_DIR/bulk-export/). run_id names the run that may
      -- write: a retried or redelivered job starts a new run and a superseded one stops.
      CREATE TABLE bulk_export_job (
        id text PRIMARY KEY,
        client_id text NOT NULL,
        actor jsonb NOT NULL,
        request jsonb NOT NULL,
        status text NOT NULL,
        run_id text NULL,
        progress text NULL,
        error text NULL,
        transaction_time timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz NULL,
        expires_at timestamptz NULL
      );
      CREATE INDEX bulk_export_job_expires ON bulk_export_job (expires_at) WHERE expires_at IS NOT NULL;
      CREATE TABLE bulk_export_file (
        job_id text NOT NULL REFERENCES bulk_export_job (id) ON DELETE CASCADE,
        name text NOT NULL,
        resource_type text NOT NULL,
        count integer NOT NULL,
        path text NOT NULL,
        PRIMARY KEY (job_id, name)
      );
      -- Payers whose member Group must be recomputed (src/measures/payer-groups/): one row while a
      -- recompute is pending, so a burst of Coverage writes queues one job per payer, not one per write.
      CREATE TABLE payer_group_pending (
        payer text PRIMARY KEY,
        requested_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    // Billing (src/billing/charge-ledger.ts): one row per recorded ChargeItem, so batching finds the
    // unbilled charges of a payer, account and period without scanning resources; capture_key makes
    // charge capture idempotent and forbids double billing of one service (member, code+modifiers,
    // date, rendering CBO) across funding accounts. The claim control number comes from a sequence.
    id: '013-billing',
    sql: `
      CREATE TABLE billing_charge (
        charge_id text PRIMARY KEY,
        capture_key text NOT NULL UNIQUE,
        account_id text NOT NULL,
        payer text NOT NULL,
        patient_id text NOT NULL,
        service_date date NOT NULL,
        state text NOT NULL,
        billed_on text NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX billing_charge_unbilled ON billing_charge (payer, account_id, service_date) WHERE billed_on IS NULL;
      CREATE SEQUENCE billing_control_number;
    `,
  },
  {
    id: '014-remittance',
    sql: `
      -- Inbound X12 files applied once: an 835 by its TRN reassociation trace (per payer), a 999 or
      -- 277CA by its interchange control number (per sender). A repeat is recognised and not applied.
      CREATE TABLE x12_inbound (
        kind text NOT NULL,
        control_key text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        result jsonb NOT NULL,
        PRIMARY KEY (kind, control_key)
      );

      -- The payable ledger of each CBO: one row per posted amount (a paid line's share, the hub's
      -- admin fee, a reversal). The balance of a CBO's payable Account is the sum of its rows.
      CREATE TABLE cbo_ledger (
        seq bigserial PRIMARY KEY,
        account_id text NOT NULL,
        cbo text NOT NULL,
        entry text NOT NULL,
        amount numeric(14, 2) NOT NULL,
        claim text NULL,
        line_control_number text NULL,
        remittance text NULL,
        posted_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX cbo_ledger_account ON cbo_ledger (account_id);
    `,
  },
];

/** Every migration, in the order they apply. */
export const MIGRATION_IDS: readonly string[] = migrations.map((migration) => migration.id);

export async function migrate(db: Database): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(727001)`);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migration (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await tx.query<{ id: string }>(`SELECT id FROM schema_migration`)).map((row) => row.id));
    const applied: string[] = [];
    for (const migration of migrations) {
      if (done.has(migration.id)) continue;
      for (const statement of splitStatements(migration.sql)) await tx.query(statement);
      await tx.query(`INSERT INTO schema_migration (id) VALUES ($1)`, [migration.id]);
      applied.push(migration.id);
    }
    return applied;
  });
}

/** Splits a migration script on semicolons at line ends (our scripts hold no procedural bodies). */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((statement) => statement.replace(/^\s*--.*$/gm, '').trim())
    .filter((statement) => statement.length > 0);
}
