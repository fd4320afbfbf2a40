/**
 * Opening a segment's session on every thread of an `OnnxThreadPool`. A pool task lands on
 * whichever thread is free, so warm-up tasks could all land on the same one and leave another
 * thread to open its session at its first real request. Instead the pool broadcasts the segment
 * on a `BroadcastChannel` every thread listens on; each thread opens the session between its runs
 * and answers with its thread id, and the warm-up ends when every thread has answered. The
 * request is repeated until then, for threads that were still starting when it was first sent.
 */
import { BroadcastChannel, threadId } from 'node:worker_threads';
import { SegmentError } from './executor.js';
import { errorOf, failureOf, type ThreadFailure } from './onnx-thread-task.js';

/** How often an unanswered warm-up is broadcast again, in ms. */
const REPEAT_MS = 200;

/** A segment to open, from the pool. */
interface WarmRequest {
  readonly type: 'warm';
  readonly id: number;
  readonly model: string;
  readonly from: number;
  readonly to: number;
}

/** A thread's answer. */
type WarmAnswer =
  | { readonly type: 'warmed'; readonly id: number; readonly thread: number }
  | ({ readonly type: 'failed'; readonly id: number; readonly thread: number } & ThreadFailure);

interface Pending {
  readonly threads: Set<number>;
  readonly resolve: (threads: number[]) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** The pool's side: one channel per pool. */
export class WarmupBroadcast {
  readonly name =
    `edgesplit-onnx-warmup-${process.pid}-${threadId}-${Math.random().toString(36).slice(2)}`;
  private readonly channel = new BroadcastChannel(this.name);
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  /** @param threads how many threads must answer */
  constructor(private readonly threads: number) {
    this.channel.unref();
    this.channel.onmessage = (event) => this.onAnswer((event as { data: WarmAnswer }).data);
  }

  /** Resolves with the ids of the threads that opened the session, once all of them have. */
  warm(model: string, from: number, to: number): Promise<number[]> {
    const id = this.nextId++;
    const request: WarmRequest = { type: 'warm', id, model, from, to };
    return new Promise<number[]>((resolve, reject) => {
      const timer = setInterval(() => this.channel.postMessage(request), REPEAT_MS);
      this.pending.set(id, { threads: new Set(), resolve, reject, timer });
      this.channel.postMessage(request);
    });
  }

  /** Rejects warm-ups in progress and closes the channel. */
  close(): void {
    for (const id of [...this.pending.keys()])
      this.settle(id, (entry) => entry.reject(new SegmentError('the executor is closed')));
    this.channel.close();
  }

  private onAnswer(answer: WarmAnswer): void {
    const entry = this.pending.get(answer.id);
    if (entry === undefined) return;
    if (answer.type === 'failed') {
      const error = errorOf(answer);
      this.settle(answer.id, (done) => done.reject(error));
      return;
    }
    entry.threads.add(answer.thread);
    if (entry.threads.size >= this.threads)
      this.settle(answer.id, (done) => done.resolve([...done.threads]));
  }

  private settle(id: number, end: (entry: Pending) => void): void {
    const entry = this.pending.get(id);
    if (entry === undefined) return;
    this.pending.delete(id);
    clearInterval(entry.timer);
    end(entry);
  }
}

/** A thread's side: opens each broadcast segment with `open` and answers. */
export function answerWarmups(
  name: string,
  open: (model: string, from: number, to: number) => Promise<void>,
): void {
  const channel = new BroadcastChannel(name);
  channel.unref();
  channel.onmessage = async (event) => {
    const request = (event as { data: WarmRequest | undefined }).data;
    if (request?.type !== 'warm') return;
    const { id } = request;
    try {
      await open(request.model, request.from, request.to);
      channel.postMessage({ type: 'warmed', id, thread: threadId } satisfies WarmAnswer);
    } catch (error) {
      const answer: WarmAnswer = { type: 'failed', id, thread: threadId, ...failureOf(error) };
      channel.postMessage(answer);
    }
  };
}
