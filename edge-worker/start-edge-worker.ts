/**
 * Assembles an edge worker process: its MQTT connection (with its `offline` status as last
 * will), its two Redis connections, its executor and calibration; then starts it
 * (edge-worker.ts).
 */
import { edgeStatusTopic, encodeMessage } from '../proto/index.js';
import { logger } from '../runtime/log.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { createRedis, isClusterUrl } from '../runtime/redis-connect.js';
import { gatherWrites } from '../runtime/redis-writes.js';
import { EdgeCalibration } from './calibration.js';
import { edgeModels, edgeStatus, emulatedEdgeExecutor } from './edge-status.js';
import { EdgeWorkerProcess } from './edge-worker.js';
import type { EdgeWorker } from './edge-worker-api.js';
import type { EdgeWorkerOptions } from './options.js';
import { resolveEdgeWorkerOptions } from './resolve-options.js';

/**
 * Starts an edge worker: declares its units and models on `edge/{id}/status`, follows the
 * decisions and the other workers, and runs its share of each UE's tail jobs.
 */
export async function startEdgeWorker(options: EdgeWorkerOptions): Promise<EdgeWorker> {
  const config = resolveEdgeWorkerOptions(options);
  const log = logger('edge-worker', { workerId: config.id });
  const onError =
    options.onError ??
    ((error: Error, context: string) =>
      log.error(`edge worker ${config.id}: ${context}: ${error.message}`));
  const models = edgeModels(config.models, config.speedFactor, options.edgeProfiles);
  const statusTopic = edgeStatusTopic(config.topicPrefix, config.id);
  const mqtt = await connectMqtt({
    url: options.mqttUrl,
    clientId: `edgesplit-edge-${config.id}`,
    clean: true,
    keepalive: config.keepaliveSeconds,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
    will: {
      topic: statusTopic,
      payload: Buffer.from(encodeMessage(edgeStatus('offline', config.units, []))),
      qos: 1,
      retain: true,
    },
  });
  mqtt.on('error', (error) => onError(error, 'mqtt'));
  // BullMQ needs `maxRetriesPerRequest: null` on a connection it duplicates for blocking. The
  // commands of its Workers that start in one turn go in one write.
  const redis = createRedis(options.redisUrl, { maxRetriesPerRequest: null });
  gatherWrites(redis);
  redis.on('error', (error: Error) => onError(error, 'redis'));
  // The tensor reads and kept answers of jobs running at once share writes (auto-pipelined on a
  // cluster, whose commands go through a client per node).
  const jobRedis = createRedis(options.redisUrl, {
    maxRetriesPerRequest: null,
    enableAutoPipelining: isClusterUrl(options.redisUrl),
  });
  gatherWrites(jobRedis);
  jobRedis.on('error', (error: Error) => onError(error, 'redis'));
  const ownsExecutor = options.executor === undefined;
  const executor = options.executor ?? emulatedEdgeExecutor(config.speedFactor);
  const calibrate = options.calibrate ?? false;
  const worker = new EdgeWorkerProcess(config, models, mqtt, redis, jobRedis, executor, {
    onPacking: options.onPacking,
    onReconfirm: options.onReconfirm,
    onExpired: options.onExpired,
    onJobStart: options.onJobStart,
    onJobEnd: options.onJobEnd,
    jobTimes: options.jobTimes,
    onError,
    closeExecutor: ownsExecutor,
    calibration:
      calibrate === false
        ? undefined
        : new EdgeCalibration(models, calibrate === true ? {} : calibrate),
  });
  try {
    await worker.start();
  } catch (error) {
    await worker.close();
    throw error;
  }
  return worker;
}
