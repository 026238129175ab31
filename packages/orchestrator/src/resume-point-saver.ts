import {
  BaseCheckpointSaver,
  compareChannelVersions,
  MemorySaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  type PendingWrite,
} from '@langchain/langgraph-checkpoint';
import type { RunnableConfig } from '@langchain/core/runnables';

/** how many threads' not-yet-written channel versions are remembered (runs in flight at once are far fewer) */
const MAX_THREADS = 1024;

/**
 * A checkpointer for decision runs that stores only the checkpoints a run can resume from — taken
 * before one of `resumeBefore` runs — and the ones `updateState` writes (a resumed run's fork), in the
 * saver it wraps (a PostgresSaver live). Every other checkpoint of the run is skipped (see GraphRunner
 * for why). Pending writes are not kept either, so a step cut off midway runs again. The `notStored`
 * channels are left out of the resume points (their values are replaced on resume; a fork stores them).
 *
 * What a skipped checkpoint changed is not lost: the saver remembers, per thread, the channel
 * versions whose values it has not written, and hands them to the next stored checkpoint, which
 * writes their values (a channel's value is stored once per version). It trusts that memory only for
 * the checkpoint that follows the one it last saw on the thread; otherwise (forgotten, another
 * process's run) it writes every channel of the checkpoint (values already stored are not rewritten).
 *
 * A checkpoint that cannot be written (the database is briefly unreachable) is treated as skipped and
 * reported to `onError`: it saves recomputation only, so the run goes on. A fork (`updateState`) that
 * cannot be written fails, since the run would start from it.
 *
 * The next node of a checkpoint is read from it the way LangGraph decides what runs next: node X is
 * triggered when its `branch:to:X` channel holds a value at a version X has not seen.
 */
export class ResumePointSaver extends BaseCheckpointSaver {
  readonly #inner: BaseCheckpointSaver;
  readonly #resumeBefore: readonly string[];
  readonly #onError: (e: Error) => void;
  readonly #notStored: readonly string[];
  /** thread → the last checkpoint offered on it, and the channel versions written since the last stored one and not stored yet */
  readonly #runs = new Map<string, { readonly last: string; readonly unstored: ChannelVersions }>();
  /** threads `hasThread` found empty, whose run's first read (the latest checkpoint) is answered without asking */
  readonly #probedEmpty = new Set<string>();
  /** checkpoints handed to `put`, how many were stored, how many could not be (diagnostics, tests) */
  readonly counts = { offered: 0, stored: 0, failed: 0 };

  constructor(inner: BaseCheckpointSaver, o: { readonly resumeBefore: readonly string[]; readonly notStored?: readonly string[]; readonly onError?: (e: Error) => void }) {
    super(inner.serde);
    this.#inner = inner;
    this.#resumeBefore = o.resumeBefore;
    this.#notStored = o.notStored ?? [];
    this.#onError = o.onError ?? (() => undefined);
  }

  getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    // a run starting on a thread `hasThread` just found empty: LangGraph first asks for the thread's latest
    // checkpoint, and there is none (the bar's series lock keeps other workers off the thread meanwhile)
    const thread = String(config.configurable?.['thread_id']);
    if (config.configurable?.['checkpoint_id'] === undefined && this.#probedEmpty.delete(thread)) return Promise.resolve(undefined);
    return this.#inner.getTuple(config);
  }

  list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple> {
    return this.#inner.list(config, options);
  }

  async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    this.counts.offered++;
    const thread = String(config.configurable?.['thread_id']);
    const parent = config.configurable?.['checkpoint_id'];
    const run = this.#runs.get(thread);
    let pending: ChannelVersions;
    if (metadata.source !== 'loop') {
      // 'input' starts a run; 'update'/'fork' branch off a stored checkpoint: what they changed is all
      pending = newVersions;
    } else if (run !== undefined && run.last === parent) {
      pending = { ...run.unstored, ...newVersions };
    } else {
      // the step before was not seen here: write everything the checkpoint refers to
      pending = { ...checkpoint.channel_versions };
    }
    const skipped = { configurable: { ...config.configurable, checkpoint_id: checkpoint.id } };
    if ((metadata.source === 'loop' || metadata.source === 'input') && !this.#isResumePoint(checkpoint)) {
      this.#remember(thread, checkpoint.id, pending);
      return skipped;
    }
    const own = metadata.source === 'loop' || metadata.source === 'input';
    let written = pending;
    if (own && this.#notStored.some((c) => c in pending)) {
      written = { ...pending };
      for (const c of this.#notStored) delete written[c];
    }
    let stored: RunnableConfig;
    try {
      stored = await this.#inner.put(config, checkpoint, metadata, written);
    } catch (e) {
      if (!own) throw e;
      this.counts.failed++;
      this.#onError(e as Error);
      this.#remember(thread, checkpoint.id, pending);
      return skipped;
    }
    this.counts.stored++;
    this.#remember(thread, checkpoint.id, {});
    return stored;
  }

  #remember(thread: string, last: string, unstored: ChannelVersions): void {
    this.#runs.delete(thread); // re-inserted last: the map keeps the most recently used threads
    this.#runs.set(thread, { last, unstored });
    if (this.#runs.size > MAX_THREADS) this.#runs.delete(this.#runs.keys().next().value as string);
  }

  putWrites(_config: RunnableConfig, _writes: PendingWrite[], _taskId: string): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Whether the thread holds any checkpoint — a cheap probe before the history is read, since almost
   * every run starts on a fresh thread. Uses the wrapped saver's `hasThread` when it has one
   * (LeanPostgresSaver), MemorySaver's storage, else says yes (the caller then reads the history).
   */
  async hasThread(threadId: string): Promise<boolean> {
    const inner = this.#inner;
    let has = true;
    if (probesThreads(inner)) has = await inner.hasThread(threadId);
    else if (inner instanceof MemorySaver) has = inner.storage[threadId] !== undefined && Object.keys(inner.storage[threadId]).length > 0;
    if (!has) {
      this.#probedEmpty.add(threadId);
      // bounded: a probe whose run never asked (it failed first) must not pile up
      if (this.#probedEmpty.size > MAX_THREADS) this.#probedEmpty.delete(this.#probedEmpty.values().next().value as string);
    }
    return has;
  }

  async deleteThread(threadId: string): Promise<void> {
    this.#runs.delete(threadId);
    this.#probedEmpty.delete(threadId);
    await this.#inner.deleteThread(threadId);
  }

  override getNextVersion(current: number | undefined): number {
    return this.#inner.getNextVersion(current);
  }

  #isResumePoint(c: Checkpoint): boolean {
    return this.#resumeBefore.some((node) => {
      const channel = `branch:to:${node}`;
      // a consumed trigger keeps a (bumped) version but no value
      const version = c.channel_versions[channel];
      if (version === undefined || !Object.hasOwn(c.channel_values, channel)) return false;
      const seen = c.versions_seen[node]?.[channel];
      return seen === undefined || compareChannelVersions(version, seen) > 0;
    });
  }
}

/** a saver with its own cheap "does this thread have a checkpoint" (LeanPostgresSaver) */
function probesThreads(s: BaseCheckpointSaver): s is BaseCheckpointSaver & { hasThread(threadId: string): Promise<boolean> } {
  return typeof (s as { hasThread?: unknown }).hasThread === 'function';
}
