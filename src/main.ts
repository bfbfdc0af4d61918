// Process entry: read config, start the server, stop gracefully on SIGTERM/SIGINT.
import { ConfigError, loadConfig } from './config.ts';
import { RedisUnavailableError } from './queue/redis-unavailable-error.ts';
import { DataDirInUseError } from './store/pglite-database.ts';
import { startServer } from './server.ts';

try {
  const config = loadConfig();
  const server = await startServer(config);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(JSON.stringify({ msg: 'shutting down', signal }));
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
} catch (error) {
  if (error instanceof ConfigError || error instanceof DataDirInUseError || error instanceof RedisUnavailableError) {
    console.error(`cch-fhir-server: ${error.message}`);
    process.exit(2);
  }
  throw error;
}
