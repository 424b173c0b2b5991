import type { CreateTaskOptions } from "@modelcontextprotocol/sdk/experimental/tasks/interfaces.js";
import { InMemoryTaskStore } from "@modelcontextprotocol/sdk/experimental/tasks/stores/in-memory.js";
import {
  isTaskAugmentedRequestParams,
  type Request,
  type RequestId,
  type Task,
} from "@modelcontextprotocol/sdk/types.js";
import { MailEventsError } from "../errors.js";

/**
 * The SDK's in-memory task store, told two things it does not track: whether a task was
 * asked for by the client (`params.task`) or made by the SDK to run a plain call of a
 * task-capable tool, and when a task is cancelled (its wait must stop at once).
 */
export class WaitTaskStore extends InMemoryTaskStore {
  readonly #asked = new Set<string>();
  readonly #aborts = new Map<string, AbortController>();

  override async createTask(
    params: CreateTaskOptions,
    requestId: RequestId,
    request: Request,
    sessionId?: string,
  ): Promise<Task> {
    const task = await super.createTask(params, requestId, request, sessionId);
    if (isTaskAugmentedRequestParams(request.params) && request.params.task !== undefined) {
      this.#asked.add(task.taskId);
    }
    return task;
  }

  /** True when the client asked for this task; false for a plain call the SDK wrapped in one. */
  asked(taskId: string): boolean {
    return this.#asked.has(taskId);
  }

  /** The signal that stops the task's work: aborted by `tasks/cancel`. */
  signal(taskId: string): AbortSignal {
    let abort = this.#aborts.get(taskId);
    if (abort === undefined) {
      abort = new AbortController();
      this.#aborts.set(taskId, abort);
    }
    return abort.signal;
  }

  /** The task's work is over: forget what was kept for it. */
  settled(taskId: string): void {
    this.#asked.delete(taskId);
    this.#aborts.delete(taskId);
  }

  override async updateTaskStatus(
    taskId: string,
    status: Task["status"],
    statusMessage?: string,
    sessionId?: string,
  ): Promise<void> {
    await super.updateTaskStatus(taskId, status, statusMessage, sessionId);
    if (status === "cancelled")
      this.#aborts.get(taskId)?.abort(new MailEventsError("ABORTED", "the task was cancelled"));
  }
}
