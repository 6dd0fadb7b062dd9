/**
 * Following a server task (`GET tasks/{id}`) in a notification that updates
 * as its pieces finish: "Ingesting events… 3/8 pieces".
 */
import { Notification } from '@jupyterlab/apputils';

import { ApiError, WorkbenchApi, errorMessage } from './api';
import { taskProgressFraction, taskProgressMessage } from './messages';
import { IPollState, failed, initialState, succeeded } from './poll';
import { ITask } from './types';

/** How often a running task is asked about, in milliseconds. */
const TASK_POLL_MS = 1000;

/** Consecutive failed requests after which a task is given up on. */
const MAX_FAILURES = 8;

/**
 * Poll task `id` until it is done or failed, showing its progress in the
 * notification `notification`; resolves with its last state. Rejects with an
 * `ApiError` when the server forgets the task (404) or stops answering.
 */
export async function followTask(
  api: WorkbenchApi,
  id: string,
  subject: string,
  notification: string
): Promise<ITask> {
  let state: IPollState<ITask> = initialState(TASK_POLL_MS);
  for (;;) {
    await new Promise(resolve => window.setTimeout(resolve, state.interval));
    try {
      state = succeeded(await api.task(id), TASK_POLL_MS);
    } catch (error) {
      state = failed(state, errorMessage(error), TASK_POLL_MS);
      if (
        (error instanceof ApiError && error.status === 404) ||
        state.failures >= MAX_FAILURES
      ) {
        throw error;
      }
      continue;
    }
    const task = state.data as ITask;
    if (task.state === 'done' || task.state === 'failed') {
      return task;
    }
    Notification.update({
      id: notification,
      message: taskProgressMessage(task, subject),
      progress: taskProgressFraction(task)
    });
  }
}

/**
 * Replace a task's progress notification by its outcome: a fresh one, so no
 * progress bar is left over. Failures stay until dismissed.
 */
export function settleNotification(
  notification: string,
  type: 'success' | 'warning' | 'error',
  message: string,
  actions: Notification.IAction[] = []
): void {
  Notification.dismiss(notification);
  Notification.emit(message, type, {
    autoClose: type === 'success' && actions.length === 0 ? 5000 : false,
    actions
  });
}
