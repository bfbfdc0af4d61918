// Assembles the server: every service is opened here in order and closed in reverse.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';
import { FhirEngine } from './fhir/engine.ts';
import { loadStoredSearchParameters } from './fhir/search/stored-search-parameters.ts';
import { SearchParameterRegistry } from './fhir/search/search-parameter-registry.ts';
import { OperationRegistry } from './fhir/operations/operation-registry.ts';
import { sdohFindingsOperations } from './fhir/operations/sdoh-findings-operations.ts';
import { terminologyOperations } from './fhir/operations/terminology-operations.ts';
import { validateOperation } from './fhir/operations/validate-operation.ts';
import { subscriptionStatusOperation } from './fhir/operations/subscription-status-operation.ts';
import { evaluateMeasureOperation } from './measures/sns-e/evaluate-measure-operation.ts';
import { loadSnsEMeasure } from './measures/sns-e/measure-loader.ts';
import { scheduleMonthlyReport, snsEReportQueue, SNS_E_REPORT_QUEUE } from './measures/sns-e/monthly-report-job.ts';
import { SnsERules } from './measures/sns-e/sns-e-config.ts';
import { TerminologyService } from './terminology/terminology-service.ts';
import { createApp } from './http/app.ts';
import { DisclosureProfiles } from './policy/disclosure-profile.ts';
import { TokenService } from './policy/token-service.ts';
import { QueueService } from './queue/queue-service.ts';
import { referralQueues } from './referrals/referral-queue.ts';
import { honourNotBefore } from './queue/delayed-jobs.ts';
import { CBO_POLL_QUEUE } from './referrals/cbo-push.ts';
import { referralNow, SLA_QUEUE } from './referrals/sla-timers.ts';
import { subscriptionQueue } from './subscriptions/subscription-queue.ts';
import { planReportQueue, PLAN_REPORT_QUEUE, scheduleMonthlyPlanReports } from './reports/monthly-report-job.ts';
import { reportOperation } from './reports/report-operation.ts';
import { claimsQueue } from './billing/delivery/claims-queue.ts';
import { renderClaim837p } from './billing/x12-837p/render-claim-837p.ts';
import { x12InboundOperation } from './billing/remittance/x12-inbound-operation.ts';
import { startX12Folder } from './billing/remittance/x12-inbound-folder.ts';
import { hl7Queue } from './hl7/hl7-queue.ts';
import { startHl7Listener } from './hl7/hl7-listener.ts';
import type { TriggerName } from './hl7/hl7-triggers.ts';
import { billingOperations } from './billing/billing-operations.ts';
import { useBillingConfig } from './billing/billing-identity.ts';
import { chargeCaptureQueue } from './billing/charge-capture.ts';
import { claimBatchQueue, startClaimBatchTimer } from './billing/claim-batch.ts';
import type { QueueModule } from './queue/queue-module.ts';
import { bulkExportOperations } from './measures/bulk-export/export-operation.ts';
import { bulkExportQueue } from './measures/bulk-export/export-queue.ts';
import { payerGroupQueue } from './measures/payer-groups/payer-group-queue.ts';
import { PolicyFactsCache } from './policy/policy-facts-cache.ts';
import { locateRedis } from './queue/redis-provider.ts';
import type { Database } from './store/database.ts';
import { migrate } from './store/migrations.ts';
import { openDatabase } from './store/open-database.ts';
import { ProfileValidator } from './validation/profile-validator.ts';
import { SchemaValidator } from './validation/schema-validator.ts';
import { featureWriteHooks } from './write-hooks.ts';
import packageJson from '../package.json' with { type: 'json' };

export interface RunningServer {
  /** http://host:port of the listening server. */
  url: string;
  db: Database;
  /** The queues, unless started with `queues: false`; `queues.nudge()` dispatches the outbox now. */
  queues: QueueService | undefined;
  /** The MLLP listener's port, when HL7_PORT is set. */
  hl7Port?: number;
  close(): Promise<void>;
}

export interface QueueStartOptions {
  /** The queue modules this process registers (one BullMQ queue and worker each). */
  modules?: readonly QueueModule<unknown>[];
  dispatchIntervalMs?: number;
}

export interface StartOptions {
  logger?: Logger;
  /** Use this database instead of opening one from config (tests share one per file). */
  db?: Database;
  /** false: no queues and no Redis (tests that do not need them). Default: queues on, no modules. */
  queues?: false | QueueStartOptions;
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'cch-fhir' } });
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch((error: unknown) => logger.error({ err: error }, 'close failed'));
  };
  try {
    // Before anything opens: without a Redis to use or start, fail at once with what to do.
    const redisSource = options.queues === false ? undefined : locateRedis(config);
    const db = options.db ?? (await openDatabase(config));
    if (!options.db) closers.push(() => db.close());
    const applied = await migrate(db);
    if (applied.length) logger.info({ applied }, 'migrations applied');

    const tokens = new TokenService(db, config.tokenTtlSeconds);
    await tokens.init();

    const searchParameters = new SearchParameterRegistry();
    await loadStoredSearchParameters(db, searchParameters);
    const terminology = TerminologyService.load();
    const profileValidator = ProfileValidator.load(terminology);
    // The FHIR base for references and locations in internal work (queue jobs have no request).
    const fhirBase = `${config.baseUrl ?? `http://localhost:${config.port}`}/fhir`;
    const disclosureProfiles = DisclosureProfiles.load();
    const operations = new OperationRegistry();
    for (const operation of [...terminologyOperations(terminology), ...sdohFindingsOperations(terminology), validateOperation]) operations.register(operation);
    operations.register(subscriptionStatusOperation({ allowHttpEndpoints: config.allowHttpEndpoints }));
    operations.register(x12InboundOperation(config.claimsDelivery)); // inbound 999/277CA/835 (src/billing/remittance)
    operations.register(reportOperation); // plan referral reports on demand (src/reports)
    // Claims and invoices (src/billing): $build, $x12, $csv; the hub's billing identity for renderers.
    useBillingConfig(config.billing);
    const billingContext = { terminology, billing: config.billing };
    for (const operation of billingOperations(billingContext)) operations.register(operation);
    const snsERules = SnsERules.load();
    operations.register(evaluateMeasureOperation(snsERules));
    for (const operation of bulkExportOperations({ db, config })) operations.register(operation); // Bulk Data $export (src/measures/bulk-export)
    let queues: QueueService | undefined;
    const engine = new FhirEngine(db, {
      validator: new SchemaValidator(),
      profileValidator,
      searchParameters,
      maxPageSize: config.maxPageSize,
      disclosureProfiles,
      operations,
      hubOrganization: config.hubOrganization,
      // The queues start after the engine; until then (or without them) there is nothing to nudge.
      nudgeOutbox: () => queues?.nudge(),
      writeHooks: featureWriteHooks,
      fhirBase,
      software: { name: packageJson.name, version: packageJson.version },
      onUnexpected: (error) => logger.error({ err: { type: (error as Error)?.name, stack: (error as Error)?.stack } }, 'batch entry failed'),
    });
    if (redisSource) {
      const redis = await redisSource.open(logger);
      closers.push(() => redis.close());
      const queueOptions = options.queues === false ? {} : (options.queues ?? {});
      const billingModules = [chargeCaptureQueue(engine, config.hubOrganization), claimBatchQueue(engine, config.hubOrganization, billingContext)] as QueueModule<unknown>[];
      // Bulk Data export runs (decided under the exporting client's policy) and the payer Groups.
      const exportServices = { profiles: disclosureProfiles, registry: searchParameters, cache: new PolicyFactsCache(), pageSize: config.bulkExport.pageSize, fhirBase };
      const exportModules = [bulkExportQueue({ db, config, logger, services: exportServices }), payerGroupQueue({ engine, config })] as QueueModule<unknown>[];
      const service = QueueService.start({
        db,
        redis: redis.target,
        prefix: config.queuePrefix,
        // Every queue module of this process: the referral workflow first, then each feature's.
        modules: [
          ...referralQueues({ engine, db, config, fhirBase, searchParameters, logger, disclosureProfiles }),
          subscriptionQueue({ engine, db, config, queues: () => queues }),
          // HL7 v2 messages from the inbox, in order per patient (src/hl7)
          hl7Queue({ engine, db, hubOrganization: config.hubOrganization, terminology, triggers: { enabled: new Set(config.hl7.triggers as TriggerName[]) } }),
          ...billingModules,
          // Everything bound for a payer: claims, invoices, reports (src/billing/delivery)
          claimsQueue({ engine, db, config, render837p: renderClaim837p }),
          planReportQueue(engine, config.hubOrganization),
          snsEReportQueue({ engine, hubOrganization: config.hubOrganization, rules: snsERules }),
          ...exportModules,
          ...(queueOptions.modules ?? []),
        ],
        logger,
        dispatchIntervalMs: queueOptions.dispatchIntervalMs,
      });
      // Delayed jobs, installed before the first dispatch: SLA timers and CBO polls on the referral clock.
      // (All in this tick: an await before one of them would let the dispatcher add its jobs undelayed.)
      honourNotBefore(service.queues, [SLA_QUEUE, CBO_POLL_QUEUE], referralNow);
      honourNotBefore(service.queues, [SNS_E_REPORT_QUEUE, PLAN_REPORT_QUEUE], Date.now); // monthly reports, real time
      closers.push(() => service.close());
      queues = service;
      await scheduleMonthlyReport(db); // the chains of monthly jobs (once, whatever the number of processes)
      if (config.claimsDelivery.monthlyReports) await scheduleMonthlyPlanReports(db);
      const stopClaimBatch = startClaimBatchTimer(db, config.billing.batchIntervalHours, () => service.nudge());
      closers.push(async () => stopClaimBatch());
    }
    await loadSnsEMeasure(db, engine, config.hubOrganization, snsERules);
    if (config.claimsDelivery.inboundDir) {
      const { inboundDir: directory, inboundPollMs: pollMs, adminFeePercent } = config.claimsDelivery;
      const folder = await startX12Folder({ engine, directory, pollMs, adminFeePercent, hubOrganization: config.hubOrganization, logger });
      closers.push(() => folder.close());
    }
    const app = createApp({ config, db, engine, tokens, logger, queues });

    const server = http.createServer(app);
    server.keepAliveTimeout = 65_000; // longer than common load-balancer idle timeouts
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, resolve);
    });
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        }),
    );
    const { port } = server.address() as AddressInfo;
    logger.info({ port, database: db.kind }, 'listening');
    // HL7 v2 intake: closed first, so messages being stored finish while the database is still open.
    let hl7Port: number | undefined;
    if (config.hl7.port !== undefined) {
      const listener = await startHl7Listener({ port: config.hl7.port, tlsCert: config.hl7.tlsCert, tlsKey: config.hl7.tlsKey, db, logger });
      closers.push(() => listener.close());
      hl7Port = listener.port;
    }
    return { url: `http://127.0.0.1:${port}`, db, queues, hl7Port, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
