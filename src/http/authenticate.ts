// Bearer-token authentication for every route mounted after it.
import type { RequestHandler } from 'express';
import { FhirError } from '../fhir/errors.ts';
import { InvalidTokenError, type TokenService } from '../policy/token-service.ts';

function unauthorized(description: string, error?: 'invalid_token'): FhirError {
  const challenge = error ? `Bearer realm="fhir", error="${error}", error_description="${description}"` : 'Bearer realm="fhir"';
  return new FhirError(401, { code: 'login', diagnostics: description }, { 'WWW-Authenticate': challenge });
}

export function authenticate(tokens: TokenService): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization');
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) return next(unauthorized('A bearer access token is required (POST /auth/token)'));
    try {
      res.locals.actor = await tokens.verify(match[1]);
      next();
    } catch (error) {
      if (error instanceof InvalidTokenError) return next(unauthorized(error.message, 'invalid_token'));
      next(error);
    }
  };
}
