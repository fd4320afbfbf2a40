/**
 * An edge worker's status on `edge/{id}/status` (retained): its units and models `online`, or
 * `offline`. It declares itself again on every reconnect (a restarted broker may have lost
 * retained messages) and every `announceMs` (EDGE_ANNOUNCE_MS by default: a process that took it
 * for dead takes it back, and none takes it for silent, EDGE_STATUS_EXPIRY_MS), declares the
 * models its calibration fitted, and after a reconnect forgets the other workers that did not
 * declare themselves again.
 */
import type { MqttClient } from 'mqtt';
import { type EdgeModel, edgeStatusTopic, encodeMessage } from '../proto/index.js';
import { asError } from '../runtime/as-error.js';
import type { EdgeCalibration } from './calibration.js';
import { edgeStatus } from './edge-status.js';
import type { FleetView } from './fleet-view.js';
import type { EdgeWorkerOptions } from './options.js';

/**
 * After a reconnect, how long other workers have to announce themselves again, counted from the
 * broker's acknowledgement of the subscription to their statuses, before they are taken for dead
 * (the scheduler waits as long: scheduler-service.ts).
 */
export const RECONFIRM_MS = 5000;

/** What `StatusAnnouncer` needs. */
export interface StatusAnnouncerOptions {
  readonly mqtt: MqttClient;
  readonly topicPrefix: string;
  /** The worker's id and units. */
  readonly id: string;
  readonly units: number;
  /** How often to declare again while connected, in ms. */
  readonly announceMs: number;
  /** The models declared until the calibration fits others. */
  readonly models: readonly EdgeModel[];
  /** The worker's view of the fleet, whose workers a reconnect reconfirms. */
  readonly fleet: FleetView;
  readonly calibration: EdgeCalibration | undefined;
  readonly onReconfirm: EdgeWorkerOptions['onReconfirm'];
  /** The view changed: workers not heard from again were forgotten. */
  readonly onFleetChange: () => void;
  readonly onError: (error: Error, context: string) => void;
}

export class StatusAnnouncer {
  private readonly mqtt: MqttClient;
  private readonly topic: string;
  private models: readonly EdgeModel[];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: StatusAnnouncerOptions) {
    this.mqtt = options.mqtt;
    this.topic = edgeStatusTopic(options.topicPrefix, options.id);
    this.models = options.models;
  }

  /**
   * Declares the worker `online`, then again on every reconnect (reconfirming the others) and
   * every `announceMs` while connected. Rejects when the first declaration fails.
   */
  async start(): Promise<void> {
    await this.publish('online');
    // A restarted broker may have lost retained messages: declare again on every reconnect.
    this.mqtt.on('connect', () => {
      if (this.stopped) return;
      this.announce();
      this.reconfirm(this.options.fleet.reconnected());
    });
    // A process that took this worker for dead (it did not hear it within its grace period after
    // a reconnect) learns otherwise at the next announcement.
    this.timer = setInterval(() => {
      if (this.mqtt.connected) this.announce();
    }, this.options.announceMs);
    this.timer.unref();
  }

  /** Announces no more (the worker is closing); `publish('offline')` still goes out. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** Publishes the status `state` (retained), with the models when online. */
  async publish(state: 'online' | 'offline'): Promise<void> {
    const { units } = this.options;
    const status = edgeStatus(state, units, state === 'online' ? this.models : []);
    await this.mqtt.publishAsync(this.topic, Buffer.from(encodeMessage(status)), {
      qos: 1,
      retain: true,
    });
  }

  /** Feeds a served job to the calibration; declares again when the fit moved. */
  calibrate(model: string, cut: number, computeMs: number, serviceMs: number): void {
    const calibration = this.options.calibration;
    if (calibration === undefined || this.stopped) return;
    calibration.observe(model, cut, computeMs, serviceMs);
    const next = calibration.due();
    if (next === undefined) return;
    this.models = next;
    this.publish('online').catch((error: unknown) =>
      this.options.onError(asError(error), 'publishing a calibrated status'),
    );
  }

  private announce(): void {
    if (this.stopped) return;
    this.publish('online').catch((error: unknown) =>
      this.options.onError(asError(error), 'publishing status'),
    );
  }

  /**
   * After reconnect number `reconnect`: RECONFIRM_MS later, forgets the workers not heard from
   * since the reconnect: they died while the connection was down. Nothing is subscribed here:
   * the subscription to the edge statuses lasts for the connection's life, and mqtt.js renews
   * it by itself on a reconnect without session (the statuses the broker retains follow its
   * acknowledgement), so the grace period counts from the reconnect. A worker forgotten because
   * its retained `online` came later than that is back when it is heard, at its next
   * announcement at the latest.
   */
  private reconfirm(reconnect: number): void {
    setTimeout(() => {
      if (this.stopped) return;
      const outcome = this.options.fleet.dropUnconfirmed(reconnect);
      if (outcome === undefined) return;
      this.options.onReconfirm?.({ dropped: outcome.dropped, kept: outcome.kept });
      if (outcome.changed) this.options.onFleetChange();
    }, RECONFIRM_MS).unref();
  }
}
