// The one place that turns errors into HTTP responses: a FhirError keeps its status and
// OperationOutcome; body-parser errors get theirs; anything else is a logged 500.
import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { FhirError } from '../fhir/errors.ts';
import { FHIR_JSON } from './fhir-response.ts';

function toFhirError(error: unknown, maxBodyBytes: number): FhirError | undefined {
  if (error instanceof FhirError) return error;
  const type = (error as { type?: string } | null)?.type;
  if (type === 'entity.too.large') return new FhirError(413, { code: 'too-costly', diagnostics: `Request body is larger than ${maxBodyBytes} bytes` });
  if (type === 'request.aborted') return new FhirError(400, { code: 'incomplete', diagnostics: 'Request body was not received completely' });
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new FhirError(415, { code: 'not-supported', diagnostics: 'Unsupported body encoding or charset' });
  }
  // Other body-reading failures (bad gzip, wrong Content-Length...) carry their own 4xx status.
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new FhirError(status, { code: 'invalid', diagnostics: 'The request body could not be read' });
  }
  return undefined;
}

export function errorHandler(logger: Logger, maxBodyBytes: number): ErrorRequestHandler {
  return (error, req, res, _next) => {
    let fhirError = toFhirError(error, maxBodyBytes);
    if (!fhirError) {
      // Log the error class and stack only: messages of lower layers can quote resource content.
      logger.error({ reqId: res.locals.requestId, err: { type: (error as Error)?.name, stack: (error as Error)?.stack } }, 'unexpected error');
      fhirError = new FhirError(500, { code: 'exception', diagnostics: `Internal server error (request ${String(res.locals.requestId)})` });
    }
    if (res.headersSent) return;
    res.status(fhirError.status).set(fhirError.headers).type(FHIR_JSON).send(JSON.stringify(fhirError.outcome));
  };
}
